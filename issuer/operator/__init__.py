"""The kopf operator: the only package that imports kopf. Thin handlers over the controllers."""
