#!/usr/bin/env bash
# The package as a consumer gets it: pack MnistNet (.nupkg + .snupkg) into a local folder feed, then build and run
# tests/PackageConsumer — outside the repository, so none of its build settings apply — referencing MnistNet by
# PackageReference from that feed only. The consumer loads the bundled data, trains briefly, evaluates, saves, loads
# and predicts, and checks the package's contents. Exits non-zero if any of it fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

version=$(dotnet msbuild "$root/src/MnistNet/MnistNet.csproj" -getProperty:Version)
for project in MnistNet MnistNet.Onnx MnistNet.Reporting MnistNet.Tool; do
  dotnet pack "$root/src/$project/$project.csproj" -c Release -o "$work/feed" --nologo -v q
done
ls -l "$work/feed"

cp -r "$root/tests/PackageConsumer" "$work/consumer"
rm -rf "$work/consumer/bin" "$work/consumer/obj"
cat > "$work/consumer/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local"><package pattern="MnistNet" /><package pattern="MnistNet.*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML

# A packages folder of its own, so that no MnistNet from an earlier run can stand in for this one.
mkdir -p "$work/out"
dotnet run --project "$work/consumer/PackageConsumer.csproj" -c Release \
  -p:MnistNetVersion="$version" -p:RestorePackagesPath="$work/packages" -- \
  "$root/data/mnist" "$work/out" "$work/feed"
# The tool, installed from the feed as a user would, then run on the model the consumer saved.
dotnet tool install MnistNet.Tool --version "$version" --tool-path "$work/tools" --configfile "$work/consumer/nuget.config"
help=$("$work/tools/mnistnet" --help)
grep -q "evaluate <model>" <<< "$help"
evaluation=$("$work/tools/mnistnet" evaluate "$work/out/model.safetensors" --data "$root/data/mnist")
grep -q "^accuracy 0\.9" <<< "$evaluation"
echo "package check: the mnistnet tool installs from the feed and evaluates the model"

echo "package check: MnistNet, MnistNet.Onnx and MnistNet.Reporting $version from the feed build, train, save, load, predict, export and draw"
