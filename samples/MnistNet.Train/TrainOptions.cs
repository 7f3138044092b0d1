using System.Globalization;

namespace MnistNet.Train;

/// <summary>The sample's command line, parsed by hand so that every mistake gets a one-line message.</summary>
internal sealed class TrainOptions
{
    public const string Usage = """
        Usage: dotnet run -c Release --project samples/MnistNet.Train -- [options]

        Trains the seed's 784-10-10 network by full-batch gradient descent and reports accuracy.

        Options:
          --data <folder>     folder with the MNIST IDX files, raw or .gz (default: data/mnist)
          --csv <file>        Kaggle "Digit Recognizer" train.csv instead of IDX (1 000 dev rows, no test set)
          --iterations <n>    gradient-descent iterations (default: 500)
          --alpha <x>         learning rate (default: 0.10)
          --hidden <n>        hidden units (default: 10)
          --seed <n>          seed for the shuffle and the initial parameters (default: 0)
          --threads <n>       threads for the kernels (default: all cores; results are identical for any value)
          --dev <n>           examples held out as the dev set (default: 1000)
          -h, --help          show this help
        """;

    public string? DataFolder { get; private set; }

    public string? CsvFile { get; private set; }

    public int Iterations { get; private set; } = 500;

    public float Alpha { get; private set; } = 0.10f;

    public int Hidden { get; private set; } = 10;

    public long Seed { get; private set; }

    public int? Threads { get; private set; }

    public int DevCount { get; private set; } = 1000;

    public bool ShowHelp { get; private set; }

    /// <exception cref="UsageException">An option is unknown, lacks its value, or has an invalid one.</exception>
    public static TrainOptions Parse(string[] args)
    {
        var options = new TrainOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string? inlineValue = null;
            int equals = name.IndexOf('=', StringComparison.Ordinal);
            if (name.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                inlineValue = name[(equals + 1)..];
                name = name[..equals];
            }

            string Value()
            {
                if (inlineValue is not null)
                {
                    return inlineValue;
                }

                if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new UsageException($"option {name} needs a value");
                }

                return args[++i];
            }

            switch (name)
            {
                case "-h" or "--help" or "-?":
                    options.ShowHelp = true;
                    break;
                case "--data":
                    options.DataFolder = Value();
                    break;
                case "--csv":
                    options.CsvFile = Value();
                    break;
                case "--iterations":
                    options.Iterations = ParseInt(name, Value(), min: 0);
                    break;
                case "--alpha":
                    options.Alpha = ParseAlpha(Value());
                    break;
                case "--hidden":
                    options.Hidden = ParseInt(name, Value(), min: 1);
                    break;
                case "--seed":
                    options.Seed = ParseLong(name, Value());
                    break;
                case "--threads":
                    options.Threads = ParseInt(name, Value(), min: 1);
                    break;
                case "--dev":
                    options.DevCount = ParseInt(name, Value(), min: 0);
                    break;
                default:
                    throw new UsageException($"unknown option '{args[i]}' (see --help)");
            }
        }

        if (options.DataFolder is not null && options.CsvFile is not null)
        {
            throw new UsageException("--data and --csv cannot be used together");
        }

        return options;
    }

    private static int ParseInt(string name, string text, int min)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min)
        {
            throw new UsageException($"option {name} expects an integer ≥ {min}, got '{text}'");
        }

        return value;
    }

    private static long ParseLong(string name, string text)
    {
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
        {
            throw new UsageException($"option {name} expects an integer, got '{text}'");
        }

        return value;
    }

    private static float ParseAlpha(string text)
    {
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value) || value <= 0)
        {
            throw new UsageException($"option --alpha expects a number > 0, got '{text}'");
        }

        return value;
    }
}

/// <summary>A command-line mistake; reported as one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
