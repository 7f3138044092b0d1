using BenchmarkDotNet.Running;
using MnistNet.Benchmarks;

// dotnet run -c Release --project benchmarks/MnistNet.Benchmarks -- --filter '*'
// dotnet run -c Release --project benchmarks/MnistNet.Benchmarks -- --thread-scaling [pairs]   (see ThreadScaling)
if (args.Length > 0 && args[0] == "--thread-scaling")
{
    int pairs = 30;
    if (args.Length > 1 && (!int.TryParse(args[1], out pairs) || pairs < 1))
    {
        Console.Error.WriteLine($"--thread-scaling takes a positive number of block pairs, not '{args[1]}'.");
        return 2;
    }

    ThreadScaling.Run(pairs);
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
