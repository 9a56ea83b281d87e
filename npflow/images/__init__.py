"""Images as points in R^64: the residual network for the digits, the judge's classifier, and image metrics."""
