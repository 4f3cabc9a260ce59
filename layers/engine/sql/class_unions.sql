-- A layer's features clipped to an area, per class: ONE statement (site search's region).
--
-- Parameters (all bound, never formatted in):
--   :area       WKB of the area (polygon or multipolygon), EPSG:4490
--   :layer_id   the layer
--
-- One row per class met inside the area: klass, pieces (an array of WKB, EPSG:4490).
-- Both sides are cut small before they meet: the layer's subdivided pieces (layer_features_sub, at most 256
-- vertices each, GiST) against the area subdivided the same way, so each intersection
-- is between two small polygons however large the county or the urban boundary is.
-- The caller dissolves the pieces per class with GEOS (shapely.union_all), as the
-- embedded engine does: ST_Union over 10^4 pieces measured slower than that, and the
-- same dissolve on both engines keeps their regions equal; the cuts along either
-- subdivision dissolve there.
WITH area AS MATERIALIZED (
    SELECT ST_GeomFromWKB(:area, 4490) AS geom
),
parts AS MATERIALIZED (
    SELECT ST_Subdivide(geom, 256) AS geom FROM area
),
cut AS MATERIALIZED (
    SELECT s.klass,
           CASE
               WHEN ST_CoveredBy(s.geom, p.geom) THEN s.geom
               ELSE ST_CollectionExtract(ST_Intersection(s.geom, p.geom), 3)
           END AS geom
    FROM layer_features_sub AS s
    JOIN parts AS p ON s.geom && p.geom AND ST_Intersects(s.geom, p.geom)
    WHERE s.layer_id = :layer_id
)
SELECT klass, array_agg(ST_AsBinary(geom)) AS pieces
FROM cut
WHERE NOT ST_IsEmpty(geom)
GROUP BY klass
