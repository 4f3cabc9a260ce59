-- Overlay of a batch of sites on the blueprint's vector layers: ONE statement per batch.
--
-- sql/overlay.sql for many sites at once (blueprint vet-batch); every site's rows are the
-- rows that statement gives for the site alone, tagged with the site's number.
--
-- Parameters (all bound, never formatted in):
--   :sites      WKB of each site's polygon(s), EPSG:4490 (bytea array)
--   :zones      EPSG code of each site's Gauss-Krüger zone (integer array, same order)
--   :layer_ids  ids of the vector layers to overlay (integer array)
--   :sliver     overlaps of a feature up to this many m² are numerical slivers, dropped
--
-- Rows returned: site_no (1-based position in :sites), then as sql/overlay.sql.
WITH site AS (
    SELECT s.site_no, ST_GeomFromWKB(s.wkb, 4490) AS geom, s.zone
    FROM unnest(CAST(:sites AS bytea[]), CAST(:zones AS integer[]))
         WITH ORDINALITY AS s(wkb, zone, site_no)
),
touched AS (
    SELECT site.site_no, s.layer_id, s.fid, bool_or(ST_CoveredBy(site.geom, s.geom)) AS site_inside
    FROM site
    JOIN layer_features_sub AS s
      ON s.geom && site.geom AND ST_Intersects(s.geom, site.geom)
    WHERE s.layer_id = ANY(CAST(:layer_ids AS integer[]))
    GROUP BY site.site_no, s.layer_id, s.fid
),
cut AS MATERIALIZED (
    SELECT t.site_no, f.layer_id, f.fid, f.klass, site.zone,
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
    JOIN site ON site.site_no = t.site_no
),
projected AS MATERIALIZED (
    SELECT site_no, layer_id, fid, klass, geom, ST_Transform(geom, zone) AS zgeom
    FROM cut
),
kept AS (
    SELECT site_no, layer_id, fid, klass, geom, zgeom, ST_Area(zgeom) AS area,
           count(*) OVER (PARTITION BY site_no, layer_id, klass) AS in_class,
           count(*) OVER (PARTITION BY site_no, layer_id) AS in_layer
    FROM projected
    WHERE ST_Area(zgeom) > :sliver
),
-- A union only where there is something to unite (as overlay.sql): a layer is united (for
-- one site) only when two of its pieces share interior and each of their features shares
-- interior with another feature of the layer in lon/lat; a class, within a united layer,
-- when two of its pieces share interior; otherwise an area is the sum of its pieces'.
pairs AS (
    SELECT a.site_no, a.layer_id, a.fid AS fid_a, b.fid AS fid_b, a.klass AS klass_a,
           b.klass AS klass_b, ST_Relate(a.geom, b.geom, '2********') AS pieces_overlap
    FROM kept AS a
    JOIN kept AS b ON b.site_no = a.site_no AND b.layer_id = a.layer_id AND b.fid > a.fid
    WHERE a.in_layer > 1 AND a.zgeom && b.zgeom AND ST_Relate(a.zgeom, b.zgeom, '2********')
),
-- the features of pairs whose pieces overlap once projected only (as overlay.sql)
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
    SELECT p.site_no, p.layer_id, p.klass_a, p.klass_b,
           p.pieces_overlap OR (
               EXISTS (SELECT 1 FROM crowded AS c
                       WHERE c.layer_id = p.layer_id AND c.fid = p.fid_a)
               AND EXISTS (SELECT 1 FROM crowded AS c
                           WHERE c.layer_id = p.layer_id AND c.fid = p.fid_b))
               AS features_overlap
    FROM pairs AS p
),
united AS (
    SELECT DISTINCT site_no, layer_id FROM overlapping WHERE features_overlap
),
classes AS (
    SELECT k.site_no, k.layer_id, k.klass, max(k.in_layer) = count(*) AS whole_layer,
           coalesce(ST_Area(ST_Union(k.zgeom) FILTER (WHERE EXISTS (
                        SELECT 1 FROM overlapping AS o
                        WHERE o.site_no = k.site_no AND o.layer_id = k.layer_id
                          AND o.klass_a IS NOT DISTINCT FROM k.klass
                          AND o.klass_b IS NOT DISTINCT FROM k.klass)
                        AND EXISTS (SELECT 1 FROM united AS u
                                    WHERE u.site_no = k.site_no AND u.layer_id = k.layer_id))),
                    sum(k.area)) AS area
    FROM kept AS k
    GROUP BY k.site_no, k.layer_id, k.klass
)
SELECT 'feature' AS level, site_no, layer_id, fid, klass, area, ST_AsBinary(geom) AS wkb
FROM kept
UNION ALL
SELECT 'class' AS level, site_no, layer_id, NULL AS fid, klass, area, NULL AS wkb
FROM classes
UNION ALL
SELECT 'layer' AS level, site_no, layer_id, NULL AS fid, NULL AS klass, area, NULL AS wkb
FROM classes
WHERE whole_layer
UNION ALL
SELECT 'layer' AS level, k.site_no, k.layer_id, NULL AS fid, NULL AS klass,
       coalesce(ST_Area(ST_Union(k.zgeom) FILTER (WHERE EXISTS (
                    SELECT 1 FROM united AS u
                    WHERE u.site_no = k.site_no AND u.layer_id = k.layer_id))),
                sum(k.area)) AS area, NULL AS wkb
FROM kept AS k
WHERE k.in_class < k.in_layer
GROUP BY k.site_no, k.layer_id
