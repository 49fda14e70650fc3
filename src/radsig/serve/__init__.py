"""``radsig serve``: the scoring service, the web nomogram and the model card of a frozen study model."""
