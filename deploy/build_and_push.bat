@echo off
rem Build the RunPod worker image, and push it when IMAGE names a registry.
rem   deploy\build_and_push.bat                              builds ergo-ergonomics-worker:TAG locally
rem   deploy\build_and_push.bat docker.io/acme/ergo-worker   builds and pushes
rem IMAGE may also come from ERGO_IMAGE. The tag defaults to a timestamp: RunPod caches images by tag.
setlocal
cd /d "%~dp0\.."
set "IMAGE=%~1"
if "%IMAGE%"=="" set "IMAGE=%ERGO_IMAGE%"
if "%IMAGE%"=="" set "IMAGE=ergo-ergonomics-worker"
set "TAG=%~2"
if "%TAG%"=="" set "TAG=%ERGO_TAG%"
if "%TAG%"=="" for /f %%t in ('powershell -NoProfile -Command "Get-Date -Format yyyyMMddHHmmss"') do set "TAG=build-%%t"
docker build --platform linux/amd64 -f deploy\Dockerfile -t "%IMAGE%:%TAG%" . || exit /b 1
echo %IMAGE% | findstr /c:"/" >nul || (echo Built %IMAGE%:%TAG% locally. To push, name a registry: %~nx0 docker.io/you/ergo-worker & exit /b 0)
docker push "%IMAGE%:%TAG%" || exit /b 1
echo Pushed %IMAGE%:%TAG%; set it as the endpoint's container image.
