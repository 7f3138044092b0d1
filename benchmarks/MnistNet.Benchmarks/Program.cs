using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/MnistNet.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
