using MnistNet.Training;
using System.Globalization;

namespace MnistNet.Train;

/// <summary>The training command line (the Train sample's and <c>mnistnet train</c>'s), parsed by hand so that every mistake gets a one-line message.</summary>
internal sealed class TrainOptions
{
    /// <summary>The help text, with the command that runs it (the sample's <c>dotnet run …</c> or the tool's <c>mnistnet train</c>).</summary>
    public static string Usage(string command) => $"Usage: {command} [options]\n" + Help;

    private const string Help = """

        Trains a digit classifier and reports accuracy. The default preset is the seed: 784-10-10 by full-batch
        gradient descent. --preset fast, best or cnn (or any mini-batch option) trains by mini-batches.

        Presets:
          --preset seed       784-10-10, full batch, alpha 0.10, 500 iterations (the blog post)
          --preset fast       784-256-10, Adam lr 0.002, batch 128, cosine schedule, 7 epochs (98 % in seconds)
          --preset best       dense1024,dropout0.2,dense512,dropout0.2 (784-1024-512-10 with dropout), Adam lr 0.001,
                              batch 128, cosine schedule, 30 epochs, --augment (99.2 % in about 2.5 minutes)
          --preset cnn        conv32k5,pool,conv64k5,pool,dense256,dropout0.5, Adam lr 0.002, batch 128,
                              cosine schedule, 9 epochs, --augment (99.5 % in about 4.5 minutes on 2 cores)

        Mini-batch options (override the preset's values):
          --epochs <n>        passes over the training set
          --batch <n>         mini-batch size (0 = full batch)
          --optimizer <name>  sgd, momentum, nesterov, rmsprop, adam or adamw (weight decay 0.01)
          --lr <x>            learning rate
          --layers <a,b,..>   hidden layer sizes, e.g. 256,128
          --arch <layers>     any stack instead of --layers: conv<channels>k<size>[valid], pool,
                              dense<units>, dropout<p>, e.g. conv32k5,pool,conv64k5,pool,dense512,dropout0.5
                              (ReLU after each conv and dense layer; a dense layer to the classes ends it)
          --schedule <name>   constant, cosine or step (x0.5 every 5 epochs)
          --init <name>       initial weights: he (default), glorot, or fan-in (weights and biases
                              uniform in ±1/sqrt(fan-in), PyTorch's default for Linear and Conv2d)
          --augment [elastic] distort every training batch: shifts of ±2 px, rotations of ±10°, scaling
                              by ±10 % (seeded); "elastic" adds Simard's elastic distortion (alpha 34, sigma 4);
                              "--augment off" trains the best and cnn presets without it
          --patience <n>      early stopping after n epochs without a better dev loss (0 = off)
          --save <file>       save the trained model (safetensors)
          --checkpoint <file> write a checkpoint after every epoch (and on Ctrl+C)
          --resume <file>     continue from a checkpoint (same --seed and --batch; with the same
                              --epochs and --schedule the result is bit-identical to an uninterrupted run)

        Seed options:
          --iterations <n>    gradient-descent iterations (default: 500)
          --alpha <x>         learning rate (default: 0.10)
          --hidden <n>        hidden units (default: 10)

        Common options:
          --data <folder>     folder with the MNIST IDX files, raw or .gz (default: data/mnist)
          --csv <file>        Kaggle "Digit Recognizer" train.csv instead of IDX (1 000 dev rows, no test set)
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

    public string Preset { get; private set; } = "seed";

    public int? Epochs { get; private set; }

    public int? Batch { get; private set; }

    public string? Optimizer { get; private set; }

    public double? LearningRate { get; private set; }

    public int[]? Layers { get; private set; }

    public string? Arch { get; private set; }

    /// <summary>Gets a value indicating whether --augment off was given (no augmentation, whatever the preset).</summary>
    public bool AugmentOff { get; private set; }

    /// <summary>Gets the distortions of --augment, or null.</summary>
    public Augmentation? Augment { get; private set; }

    public string? Schedule { get; private set; }

    /// <summary>Gets the --init name (he, glorot or fan-in), or null for the default (he).</summary>
    public string? Init { get; private set; }

    public int? Patience { get; private set; }

    public string? SavePath { get; private set; }

    public string? CheckpointPath { get; private set; }

    public string? ResumePath { get; private set; }

    /// <summary>Gets whether the run trains a DenseNetwork by mini-batches (any preset but seed, or any mini-batch option).</summary>
    public bool MiniBatch => Preset != "seed" || Epochs is not null || Batch is not null || Optimizer is not null || LearningRate is not null
        || Layers is not null || Arch is not null || Augment is not null || AugmentOff || Schedule is not null || Init is not null || Patience is not null || CheckpointPath is not null || ResumePath is not null;

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
                    options.Alpha = (float)ParseAlpha(Value(), name);
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
                case "--preset":
                    options.Preset = OneOf(name, Value(), "seed", "fast", "best", "cnn");
                    break;
                case "--epochs":
                    options.Epochs = ParseInt(name, Value(), min: 1);
                    break;
                case "--batch":
                    options.Batch = ParseInt(name, Value(), min: 0);
                    break;
                case "--optimizer":
                    options.Optimizer = OneOf(name, Value(), [.. Optimizers.Names]);
                    break;
                case "--lr":
                    options.LearningRate = ParseAlpha(Value(), name);
                    break;
                case "--layers":
                    options.Layers = ParseLayers(Value());
                    break;
                case "--arch":
                    options.Arch = ParseArch(Value());
                    break;
                case "--augment":
                    // An optional value: "elastic" or "off" (the next argument, when it is not another option).
                    bool elastic = i + 1 < args.Length && args[i + 1].Equals("elastic", StringComparison.OrdinalIgnoreCase);
                    bool off = i + 1 < args.Length && args[i + 1].Equals("off", StringComparison.OrdinalIgnoreCase);
                    i += elastic || off ? 1 : 0;
                    options.AugmentOff = off;
                    options.Augment = off ? null : elastic ? Augmentation.Default with { ElasticAlpha = 34, ElasticSigma = 4 } : Augmentation.Default;
                    break;
                case "--schedule":
                    options.Schedule = OneOf(name, Value(), "constant", "cosine", "step");
                    break;
                case "--init":
                    options.Init = OneOf(name, Value(), "he", "glorot", "fan-in");
                    break;
                case "--patience":
                    options.Patience = ParseInt(name, Value(), min: 0);
                    break;
                case "--save":
                    options.SavePath = Value();
                    break;
                case "--checkpoint":
                    options.CheckpointPath = Value();
                    break;
                case "--resume":
                    options.ResumePath = Value();
                    break;
                default:
                    throw new UsageException($"unknown option '{args[i]}' (see --help)");
            }
        }

        if (options.DataFolder is not null && options.CsvFile is not null)
        {
            throw new UsageException("--data and --csv cannot be used together");
        }

        if (options.Layers is not null && options.Arch is not null)
        {
            throw new UsageException("--layers and --arch cannot be used together (--arch dense256,dense128 is --layers 256,128)");
        }

        if (options.Init is not null && options.ResumePath is not null)
        {
            throw new UsageException("--init cannot be used with --resume (the checkpoint holds the network's weights)");
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

    private static double ParseAlpha(string text, string name)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value) || value <= 0 || (float)value <= 0 || !float.IsFinite((float)value))
        {
            throw new UsageException($"option {name} expects a finite number > 0 (float range), got '{text}'");
        }

        return value;
    }

    private static string OneOf(string name, string text, params string[] choices)
    {
        string lower = text.ToLowerInvariant();
        if (Array.IndexOf(choices, lower) < 0)
        {
            throw new UsageException($"option {name} expects one of {string.Join(", ", choices)}, got '{text}'");
        }

        return lower;
    }

    /// <summary>Checks a stack description against MNIST's 1 × 28 × 28 images and 10 classes (the recipe checks it again against the data).</summary>
    private static string ParseArch(string text)
    {
        try
        {
            _ = MnistNet.Networks.NetworkSpec.Expand(text, 1, 28, 28, 10);
        }
        catch (FormatException e)
        {
            throw new UsageException($"option --arch: {e.Message}");
        }

        return text;
    }

    private static int[] ParseLayers(string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var sizes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1 || sizes[i] > 65536)
            {
                throw new UsageException($"option --layers expects hidden sizes such as 256,128 (each 1 to 65536), got '{text}'");
            }
        }

        return sizes;
    }
}

/// <summary>A command-line mistake; reported as one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
