-- The features of a layer that meet an area: ONE statement (site search's region).
--
-- Parameters (all bound, never formatted in):
--   :area       WKB of the area (polygon or multipolygon), EPSG:4490
--   :layer_id   the layer
--
-- One row per feature meeting the area, in id order (code point, as the embedded engine's
-- arrays): fid, klass, covered (the area covers the feature), wkb (the whole feature,
-- EPSG:4490). They are found on the layer's subdivided pieces (layer_features_sub, at most
-- 256 vertices each, GiST) against the area subdivided the same way, so the index does the
-- finding however large the county or the urban boundary is.
-- The caller cuts the features the area does not cover and dissolves the pieces per class
-- with GEOS (shapely), exactly as the embedded engine does, so that both engines give the
-- same region to the last bit. Cut here, the pieces differed: cut piece by piece, a vertex
-- was left on a feature's edges wherever a subdivision line crossed them, and an edge with
-- an extra vertex bends differently once projected (9 cm off a 3 km farmland edge, 1,200
-- m² of a county's allowed region); cut whole, PostGIS's GEOS put the crossing points a
-- few bits elsewhere, which snapping the region to 1 cm made slivers of up to 2 m²; the
-- area clipped to a feature's box first lost a crossing where an edge of the area runs
-- almost along the feature's (406 m²).
WITH area AS MATERIALIZED (
    SELECT ST_GeomFromWKB(:area, 4490) AS geom
),
parts AS MATERIALIZED (
    SELECT ST_Subdivide(geom, 256) AS geom FROM area
),
touched AS MATERIALIZED (
    SELECT DISTINCT s.fid
    FROM layer_features_sub AS s
    JOIN parts AS p ON s.geom && p.geom AND ST_Intersects(s.geom, p.geom)
    WHERE s.layer_id = :layer_id
)
SELECT f.fid, f.klass, ST_Covers(a.geom, f.geom) AS covered, ST_AsBinary(f.geom) AS wkb
FROM touched AS t
JOIN layer_features AS f ON f.layer_id = :layer_id AND f.fid = t.fid
CROSS JOIN area AS a
ORDER BY f.fid COLLATE "C"
