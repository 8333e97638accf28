"""Product screens: the catalog (producer screens and the public page), sales and earnings."""
