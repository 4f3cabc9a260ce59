-- A layer's features clipped to an area, per class: ONE statement (site search's region).
--
-- Parameters (all bound, never formatted in):
--   :area       WKB of the area (polygon or multipolygon), EPSG:4490
--   :layer_id   the layer
--
-- One row per class met inside the area: klass, pieces (an array of WKB, EPSG:4490).
-- The features meeting the area are found on the layer's subdivided pieces
-- (layer_features_sub, at most 256 vertices each, GiST) against the area subdivided the
-- same way, so the index does the finding however large the county or the urban boundary
-- is. Each piece is then cut from the WHOLE feature, as the embedded engine does (and as
-- sql/overlay.sql does for a site): cutting piece by piece left a vertex on the feature's
-- edges wherever a subdivision line crossed them, and an edge with an extra vertex bends
-- differently once projected to the zone (measured: 9 cm off a 3 km farmland edge, 1,200
-- m² of a county's allowed region that one engine had and the other had not). A feature
-- the area covers is its own piece, the area is the piece of a feature that covers it;
-- else a big area (over 64 KB: some 4,000 vertices, a real county's boundary) is first
-- clipped to the feature's box grown by 1e-4° (GEOS ClipByRect, one pass over its
-- vertices): the new vertices lie on that box, outside the feature, so the piece is the
-- cut by the whole area (its edges recomputed at the box can still move, in the last
-- bits, where an edge of the area runs almost along the feature's), and no longer one
-- overlay of the whole boundary per feature it crosses.
-- The caller dissolves the pieces per class with GEOS (shapely.union_all), as the
-- embedded engine does: ST_Union over 10^4 pieces measured slower than that, and the
-- same dissolve on both engines keeps their regions equal.
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
),
cut AS MATERIALIZED (
    SELECT f.klass,
           CASE
               WHEN ST_Covers(a.geom, f.geom) THEN f.geom
               WHEN ST_Covers(f.geom, a.geom) THEN a.geom
               ELSE ST_CollectionExtract(ST_Intersection(f.geom,
                   CASE WHEN ST_MemSize(a.geom) > 65536
                        THEN ST_ClipByBox2D(a.geom, ST_Expand(box2d(f.geom), 1e-4))
                        ELSE a.geom END), 3)
           END AS geom
    FROM touched AS t
    JOIN layer_features AS f ON f.layer_id = :layer_id AND f.fid = t.fid
    CROSS JOIN area AS a
)
SELECT klass, array_agg(ST_AsBinary(geom)) AS pieces
FROM cut
WHERE NOT ST_IsEmpty(geom)
GROUP BY klass
