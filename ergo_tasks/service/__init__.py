"""The job service: the API's actions, the HTTP gateway, RunPod dispatch, and the API client.

Owns, one concept per module: the action table and the job actions (:mod:`.actions`), their request models
and the caller (:mod:`.requests`), the upload actions and part arithmetic (:mod:`.uploads`), dispatch
bookkeeping and the queue place (:mod:`.dispatching`), what a job looks like to its caller (:mod:`.views`);
the HTTP gateway of ``ergo serve`` (:mod:`.http`, assembled from the routers :mod:`.api_routes` and
:mod:`.storage_routes` and the caller checks in :mod:`.access`); handing jobs to executors (:mod:`.dispatch`),
the one RunPod client (:mod:`.runpod`), the client ``ergo submit`` uses (:mod:`.client`), error codes and their
HTTP statuses (:mod:`.errors`), and its settings (:mod:`.settings`).  May import: the engine,
:mod:`ergo_tasks.analysis`, :mod:`pipeline` and :mod:`statestore`.
"""
