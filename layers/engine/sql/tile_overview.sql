-- One Mapbox Vector Tile of one layer at low zoom, from the layer's overview
-- (layers/tile_overview.py, the same rules as sql/tile.sql): the features drawn as
-- themselves are named by fid (:fids, chosen from the overview: big enough, box meeting
-- the tile), simplified, clipped and put on the 4096 grid. The marked one-pixel cells
-- (the _merged feature) are encoded by layers/mvt.py and joined to this tile in Python.
WITH bounds AS (
    SELECT ST_MakeEnvelope(:mx0, :my0, :mx1, :my1, 3857) AS env
), whole AS (
    SELECT ST_AsMVTGeom(ST_Simplify(ST_Transform(ST_SetSRID(geom, 4326), 3857), :tol),
                        bounds.env, 4096, 64, true) AS geom,
           klass AS _class
    FROM layer_features, bounds
    WHERE layer_id = :layer_id AND fid = ANY(CAST(:fids AS text[]))
)
SELECT ST_AsMVT(t, :name, 4096, 'geom')
FROM (SELECT * FROM whole WHERE geom IS NOT NULL) AS t
