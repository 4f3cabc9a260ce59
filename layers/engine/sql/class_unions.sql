-- A layer's features clipped to an area and dissolved per class: ONE statement.
--
-- Parameters (all bound, never formatted in):
--   :area       WKB of the area (polygon or multipolygon), EPSG:4490
--   :layer_id   the layer
--
-- One row per class met inside the area: klass, wkb (EPSG:4490). The index filter and
-- the cut run on the subdivided pieces (layer_features_sub, at most 256 vertices each):
-- the union of a feature's pieces is the feature, so dissolving the cut pieces per class
-- gives the same region as cutting whole features, at a fraction of the cost.
WITH area AS (
    SELECT ST_GeomFromWKB(:area, 4490) AS geom
),
cut AS (
    SELECT s.klass,
           CASE
               WHEN ST_CoveredBy(s.geom, area.geom) THEN s.geom
               ELSE ST_CollectionExtract(ST_Intersection(s.geom, area.geom), 3)
           END AS geom
    FROM layer_features_sub AS s
    CROSS JOIN area
    WHERE s.layer_id = :layer_id
      AND s.geom && area.geom
      AND ST_Intersects(s.geom, area.geom)
)
SELECT klass, ST_AsBinary(ST_CollectionExtract(ST_Union(geom), 3)) AS wkb
FROM cut
WHERE NOT ST_IsEmpty(geom)
GROUP BY klass
