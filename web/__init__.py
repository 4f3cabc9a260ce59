"""Folium maps and pages."""
