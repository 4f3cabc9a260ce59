-- A layer's features clipped to an area and dissolved per class: ONE statement.
--
-- Parameters (all bound, never formatted in):
--   :area       WKB of the area (polygon or multipolygon), EPSG:4490
--   :layer_id   the layer
--
-- One row per class met inside the area: klass, wkb (EPSG:4490). Both sides are cut small
-- before they meet: the layer's subdivided pieces (layer_features_sub, at most 256
-- vertices each, GiST) against the area subdivided the same way, so each intersection
-- is between two small polygons however large the county or the urban boundary is. The
-- cuts along either subdivision dissolve again in the union per class.
WITH area AS (
    SELECT ST_GeomFromWKB(:area, 4490) AS geom
),
parts AS (
    SELECT ST_Subdivide(geom, 256) AS geom FROM area
),
cut AS (
    SELECT s.klass,
           CASE
               WHEN ST_CoveredBy(s.geom, p.geom) THEN s.geom
               ELSE ST_CollectionExtract(ST_Intersection(s.geom, p.geom), 3)
           END AS geom
    FROM layer_features_sub AS s
    JOIN parts AS p ON s.geom && p.geom AND ST_Intersects(s.geom, p.geom)
    WHERE s.layer_id = :layer_id
)
SELECT klass, ST_AsBinary(ST_CollectionExtract(ST_Union(geom), 3)) AS wkb
FROM cut
WHERE NOT ST_IsEmpty(geom)
GROUP BY klass
