-- Overlay of one site on the blueprint's vector layers: ONE statement per site.
--
-- Parameters (all bound, never formatted in):
--   :site       WKB of the site polygon(s), EPSG:4490
--   :zone       EPSG code of the site's CGCS2000 Gauss-Krüger zone (areas are planar there)
--   :layer_ids  ids of the vector layers to overlay (integer array)
--   :sliver     overlaps of a feature up to this many m² are numerical slivers, dropped
--
-- Rows returned, by `level`:
--   'feature'  one per overlapped feature: layer_id, fid, klass, area (m²), wkb (EPSG:4490)
--   'class'    one per (layer, class): area of the union of the class's overlaps
--   'layer'    one per layer: area of the union of all its overlaps
-- (layers/engine/postgis.prepared_sql hands these rows to the client as ONE json value.)
--
-- The index filter runs on the subdivided pieces (layer_features_sub: at most 256 vertices
-- each, GiST): a feature is touched exactly when one of its pieces is, and a site inside
-- one piece lies inside the feature. The overlap itself is cut from the whole feature,
-- as the embedded engine does: cutting piece by piece would add vertices on the site's
-- edges, and an edge with an extra vertex bends differently once projected to the zone
-- (measured: 0.003 m² on a 120,000-vertex red line). A big feature is clipped to a box
-- around the site first, which only adds vertices outside the site (see `cut`).
WITH site AS (
    SELECT ST_GeomFromWKB(:site, 4490) AS geom
),
touched AS (
    SELECT s.layer_id, s.fid, bool_or(ST_CoveredBy(site.geom, s.geom)) AS site_inside
    FROM layer_features_sub AS s
    CROSS JOIN site
    WHERE s.layer_id = ANY(CAST(:layer_ids AS integer[]))
      AND s.geom && site.geom
      AND ST_Intersects(s.geom, site.geom)
    GROUP BY s.layer_id, s.fid
),
cut AS MATERIALIZED (
    SELECT f.layer_id, f.fid, f.klass,
           CASE
               WHEN ST_CoveredBy(f.geom, site.geom) THEN f.geom
               WHEN t.site_inside THEN site.geom
               -- a big feature (over 64 KB: some 4,000 vertices) is first clipped to the
               -- site's box grown by 1e-4° (GEOS ClipByRect, one pass over its vertices):
               -- the new vertices lie on that box, outside the site, so the overlap is the
               -- same to the last bits; GEOS no longer builds the whole feature to cut it.
               ELSE ST_CollectionExtract(ST_Intersection(
                   CASE WHEN ST_MemSize(f.geom) > 65536
                        THEN ST_ClipByBox2D(f.geom, ST_Expand(box2d(site.geom), 1e-4))
                        ELSE f.geom END, site.geom), 3)
           END AS geom
    FROM touched AS t
    JOIN layer_features AS f ON f.layer_id = t.layer_id AND f.fid = t.fid
    CROSS JOIN site
),
projected AS MATERIALIZED (
    SELECT layer_id, fid, klass, geom, ST_Transform(geom, CAST(:zone AS integer)) AS zgeom
    FROM cut
),
kept AS (
    SELECT layer_id, fid, klass, geom, zgeom, ST_Area(zgeom) AS area,
           count(*) OVER (PARTITION BY layer_id, klass) AS in_class,
           count(*) OVER (PARTITION BY layer_id) AS in_layer
    FROM projected
    WHERE ST_Area(zgeom) > :sliver
),
-- A union only where there is something to unite (as the embedded engine's `union_area`):
-- pieces whose interiors never meet (features of a layer that tiles the land share edges
-- at most) cover the sum of their areas. Pairs of one layer's pieces are found on their
-- boxes and related exactly; a layer is united only when two of its pieces share interior
-- and each of their features shares interior with another feature of the layer in the
-- data's own coordinates (the embedded engine's `overlaps_none`): two features that only
-- share an edge, one with a vertex on it that the other has not, overlap by a few square
-- centimetres once projected (the edge bends at the vertex), and that is no overlap (the
-- engines' red-line areas differed by 0.011 m², and their reports by 0.1 m²). Within a
-- united layer, a class is united when two of its pieces share interior.
pairs AS (
    SELECT a.layer_id, a.fid AS fid_a, b.fid AS fid_b, a.klass AS klass_a, b.klass AS klass_b,
           ST_Relate(a.geom, b.geom, '2********') AS pieces_overlap
    FROM kept AS a
    JOIN kept AS b ON b.layer_id = a.layer_id AND b.fid > a.fid
    WHERE a.in_layer > 1 AND a.zgeom && b.zgeom AND ST_Relate(a.zgeom, b.zgeom, '2********')
),
-- the features of pairs whose pieces overlap once projected only: each is asked whether it
-- shares interior with another feature of its layer
crowded AS (
    SELECT m.layer_id, m.fid
    FROM (SELECT layer_id, fid_a AS fid FROM pairs WHERE NOT pieces_overlap
          UNION SELECT layer_id, fid_b FROM pairs WHERE NOT pieces_overlap) AS m
    WHERE EXISTS (
        SELECT 1 FROM layer_features AS f
        JOIN layer_features_sub AS o
          ON o.layer_id = f.layer_id AND o.fid <> f.fid AND o.geom && f.geom
        WHERE f.layer_id = m.layer_id AND f.fid = m.fid
          AND ST_Intersects(f.geom, o.geom) AND ST_Relate(f.geom, o.geom, '2********'))
),
overlapping AS (
    SELECT p.layer_id, p.klass_a, p.klass_b,
           p.pieces_overlap OR (
               EXISTS (SELECT 1 FROM crowded AS c
                       WHERE c.layer_id = p.layer_id AND c.fid = p.fid_a)
               AND EXISTS (SELECT 1 FROM crowded AS c
                           WHERE c.layer_id = p.layer_id AND c.fid = p.fid_b))
               AS features_overlap
    FROM pairs AS p
),
united AS (
    SELECT DISTINCT layer_id FROM overlapping WHERE features_overlap
),
classes AS (
    SELECT k.layer_id, k.klass, max(k.in_layer) = count(*) AS whole_layer,
           coalesce(ST_Area(ST_Union(k.zgeom) FILTER (WHERE EXISTS (
                        SELECT 1 FROM overlapping AS o
                        WHERE o.layer_id = k.layer_id AND o.klass_a IS NOT DISTINCT FROM k.klass
                          AND o.klass_b IS NOT DISTINCT FROM k.klass)
                        AND EXISTS (SELECT 1 FROM united AS u WHERE u.layer_id = k.layer_id))),
                    sum(k.area)) AS area
    FROM kept AS k
    GROUP BY k.layer_id, k.klass
)
SELECT 'feature' AS level, layer_id, fid, klass, area, ST_AsBinary(geom) AS wkb
FROM kept
UNION ALL
SELECT 'class' AS level, layer_id, NULL AS fid, klass, area, NULL AS wkb
FROM classes
UNION ALL
SELECT 'layer' AS level, layer_id, NULL AS fid, NULL AS klass, area, NULL AS wkb
FROM classes
WHERE whole_layer
UNION ALL
SELECT 'layer' AS level, k.layer_id, NULL AS fid, NULL AS klass,
       coalesce(ST_Area(ST_Union(k.zgeom) FILTER (WHERE EXISTS (
                    SELECT 1 FROM united AS u WHERE u.layer_id = k.layer_id))),
                sum(k.area)) AS area, NULL AS wkb
FROM kept AS k
WHERE k.in_class < k.in_layer
GROUP BY k.layer_id
