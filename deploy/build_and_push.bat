@echo off
rem Build the RunPod worker image and push it.
rem   deploy\build_and_push.bat IMAGE [TAG]   (IMAGE may also come from ERGO_IMAGE)
rem The tag defaults to a timestamp: RunPod caches images by tag, so every build gets a new one.
setlocal
cd /d "%~dp0\.."
set "IMAGE=%~1"
if "%IMAGE%"=="" set "IMAGE=%ERGO_IMAGE%"
if "%IMAGE%"=="" (
  echo usage: %~nx0 IMAGE [TAG]   ^(or set ERGO_IMAGE^) 1>&2
  exit /b 2
)
set "TAG=%~2"
if "%TAG%"=="" set "TAG=%ERGO_TAG%"
if "%TAG%"=="" for /f %%t in ('powershell -NoProfile -Command "Get-Date -Format yyyyMMddHHmmss"') do set "TAG=build-%%t"
docker build --platform linux/amd64 -f deploy\Dockerfile -t "%IMAGE%:%TAG%" . || exit /b 1
docker push "%IMAGE%:%TAG%" || exit /b 1
echo Pushed %IMAGE%:%TAG%; set it as the endpoint's container image.
