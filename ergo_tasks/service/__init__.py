"""The job service: the API's actions, the HTTP gateway, RunPod dispatch, and the API client.

Owns: the action table and its handlers (:mod:`.actions`), the HTTP gateway of
``ergo serve`` (:mod:`.http`), handing jobs to executors (:mod:`.dispatch`),
the one RunPod client (:mod:`.runpod`), the client ``ergo submit`` uses
(:mod:`.client`), error codes and their HTTP statuses (:mod:`.errors`), and
its settings (:mod:`.settings`).  May import: the engine, :mod:`ergo_tasks.analysis`,
:mod:`pipeline` and :mod:`statestore`.
"""
