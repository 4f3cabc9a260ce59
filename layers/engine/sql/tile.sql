-- One Mapbox Vector Tile of one layer, by the rules of layers/tiles.py (same as the
-- embedded engine): features whose bounding box meets the buffered tile; those at
-- least :min_px pixels across drawn as themselves (simplified, clipped, on the 4096 grid),
-- smaller ones as the one-pixel cell of their bounding-box centre, cells next to each
-- other on a row joined into one rectangle, all of them one feature (_merged = 1).
-- Bounds are web-mercator metres (:mx0 … :my1), :px the pixel size in metres.
-- The features are found through their pieces (layer_features_sub's GiST), whose boxes
-- meet the buffered tile widened by a pixel (:plon0 … :plat1): a feature whose box meets
-- the tile but none of whose pieces' boxes come that near is more than a pixel from the
-- tile, so it would draw nothing there (clipped away, or simplified by at most half a
-- pixel; a small one is within 3 px of its cell, inside the 4 px buffer): the same tile.
WITH hit AS (  -- the pieces' GiST (layer_features has none: 0010_import_speed)
    SELECT DISTINCT fid FROM layer_features_sub
    WHERE layer_id = :layer_id
      AND geom && ST_MakeEnvelope(:plon0, :plat0, :plon1, :plat1, 4490)
), cand AS (
    SELECT f.klass, f.geom, box2d(f.geom) AS b
    FROM hit JOIN layer_features AS f ON f.layer_id = :layer_id AND f.fid = hit.fid
    WHERE f.geom && ST_MakeEnvelope(:lon0, :lat0, :lon1, :lat1, 4490)
), merc AS (
    SELECT klass, geom,
           :r * radians(ST_XMin(b)) AS x0, :r * radians(ST_XMax(b)) AS x1,
           :r * ln(tan(pi() / 4 + radians(least(greatest(ST_YMin(b), -:maxlat), :maxlat)) / 2)) AS y0,
           :r * ln(tan(pi() / 4 + radians(least(greatest(ST_YMax(b), -:maxlat), :maxlat)) / 2)) AS y1
    FROM cand
), sized AS (
    SELECT *, greatest(x1 - x0, y1 - y0) / :px >= :min_px AS whole FROM merc
), bounds AS (
    SELECT ST_MakeEnvelope(:mx0, :my0, :mx1, :my1, 3857) AS env
), whole AS (
    SELECT ST_AsMVTGeom(ST_Simplify(ST_Transform(ST_SetSRID(geom, 4326), 3857), :tol),
                        bounds.env, 4096, 64, true) AS geom,
           klass AS _class, NULL::int AS _merged
    FROM sized, bounds WHERE whole
), cells AS (
    SELECT DISTINCT floor(((x0 + x1) / 2 - :mx0) / :px)::int AS c,
                    floor((:my1 - (y0 + y1) / 2) / :px)::int AS r
    FROM sized WHERE NOT whole
), runs AS (
    SELECT r, min(c) AS c0, max(c) AS c1
    FROM (SELECT r, c, c - row_number() OVER (PARTITION BY r ORDER BY c) AS grp
          FROM cells WHERE c BETWEEN 0 AND 255 AND r BETWEEN 0 AND 255) AS numbered
    GROUP BY r, grp
), merged AS (  -- already in tile units (16 per pixel, y down): no ST_AsMVTGeom
    SELECT ST_ForcePolygonCCW(ST_Collect(ST_MakeEnvelope(c0 * 16, r * 16, (c1 + 1) * 16,
                                                         (r + 1) * 16))) AS geom,
           NULL::varchar AS _class, 1 AS _merged
    FROM runs HAVING count(*) > 0
)
SELECT ST_AsMVT(t, :name, 4096, 'geom')
FROM (SELECT * FROM whole WHERE geom IS NOT NULL
      UNION ALL SELECT * FROM merged) AS t
