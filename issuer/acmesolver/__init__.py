"""The tiny HTTP-01 solver program run inside ACME solver Pods (`issuer acmesolver`)."""
