using System.Globalization;
using System.Numerics;
using System.Text;
using MnistNet.Layers;

namespace MnistNet.Networks;

/// <summary>
/// Networks described in one line, as <c>--arch</c> takes them and model files store them.
/// </summary>
/// <remarks>
/// <para><b>Short form</b> (<see cref="Build{T}"/>): layers separated by commas, for images of C × H × W and a number of
/// classes — <c>conv{channels}k{size}</c> (a 'same' convolution; <c>…valid</c> for none), <c>pool</c> (2 × 2 max
/// pooling), <c>dense{units}</c>, <c>dropout{p}</c>. Every convolution and dense layer is followed by a ReLU — after
/// the pooling where a <c>pool</c> follows a convolution (max-pooling and ReLU commute, values and gradients alike, and
/// the ReLU then touches a quarter of the values) — and the stack ends with a dense layer to the classes and softmax:
/// <c>conv32k5,pool,conv64k5,pool,dense512,dropout0.5</c>.</para>
/// <para><b>Full form</b> (<see cref="Network{T}.Architecture"/> of such a network, the <c>architecture</c> entry of its
/// model file): the input shape, a colon, then every layer with <c>relu</c> written out and the output dense layer,
/// e.g. <c>1x28x28:conv32k5,pool,relu,dense10</c> (softmax is always last and not written). Any order the layers
/// allow is accepted, such as <c>1x28x28:conv32k5,relu,pool,dense10</c> (what MnistNet 0.3's short form wrote).</para>
/// </remarks>
public static class NetworkSpec
{
    /// <summary>Builds a network from the short form, with ReLU after each convolution (after its pooling, where one follows) and dense layer and a dense output layer, initialised from <paramref name="seed"/>.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="stack">The hidden layers, e.g. <c>conv32k5,pool,dense128,dropout0.5</c>; empty for a linear model.</param>
    /// <param name="channels">Input channels (1 for MNIST).</param>
    /// <param name="height">Input height (28 for MNIST).</param>
    /// <param name="width">Input width (28 for MNIST).</param>
    /// <param name="classes">Output classes (≥ 1).</param>
    /// <param name="initialization">How weights are drawn.</param>
    /// <param name="seed">The generator's seed: the same seed gives the same weights.</param>
    /// <returns>The network.</returns>
    /// <exception cref="FormatException">The description is not valid (the message names the layer and why).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public static Network<T> Build<T>(string stack, int channels, int height, int width, int classes, Initialization initialization = Initialization.He, long seed = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!Enum.IsDefined(initialization))
        {
            throw new ArgumentOutOfRangeException(nameof(initialization), initialization, "Unknown initialization.");
        }

        Network<T> network = Create<T>(Parse(Expand(stack, channels, height, width, classes)));
        var random = new Prng(seed);
        foreach (Layer<T> layer in network.Layers)
        {
            layer.Initialize(initialization, random);
        }

        return network;
    }

    /// <summary>
    /// Checks a short form and returns its full form (as <see cref="Network{T}.Architecture"/> will read), without
    /// building anything: e.g. <c>conv32k5,pool</c> for 1 × 28 × 28 and 10 classes gives
    /// <c>1x28x28:conv32k5,pool,relu,dense10</c>.
    /// </summary>
    /// <param name="stack">The hidden layers in the short form.</param>
    /// <param name="channels">Input channels.</param>
    /// <param name="height">Input height.</param>
    /// <param name="width">Input width.</param>
    /// <param name="classes">Output classes.</param>
    /// <returns>The full form.</returns>
    /// <exception cref="FormatException">The description is not valid (the message names the layer and why).</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public static string Expand(string stack, int channels, int height, int width, int classes)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(classes, SoftmaxCrossEntropy<float>.MaxClasses);
        var explicitLayers = new List<string>();
        string[] tokens = [.. Tokens(stack)];
        for (int i = 0; i < tokens.Length; i++)
        {
            string token = tokens[i];
            explicitLayers.Add(token);
            if (token.StartsWith("conv", StringComparison.Ordinal) && i + 1 < tokens.Length && tokens[i + 1] == "pool")
            {
                // conv, pool, relu: max-pooling and ReLU commute (max(relu(a), relu(b)) = relu(max(a, b)), and both
                // backward passes give the same gradient), so the ReLU runs on a quarter of the values.
                explicitLayers.Add("pool");
                explicitLayers.Add("relu");
                i++;
            }
            else if (token.StartsWith("conv", StringComparison.Ordinal) || token.StartsWith("dense", StringComparison.Ordinal))
            {
                explicitLayers.Add("relu");
            }
        }

        explicitLayers.Add(string.Create(CultureInfo.InvariantCulture, $"dense{classes}"));
        string full = string.Create(CultureInfo.InvariantCulture, $"{channels}x{height}x{width}:{string.Join(',', explicitLayers)}");
        _ = Parse(full);
        return full;
    }

    /// <summary>A parsed full form: each layer with the shape it takes (softmax not included), and the outputs.</summary>
    internal sealed record Parsed(IReadOnlyList<(string Token, int Inputs, int InChannels, int InHeight, int InWidth)> Layers, int Outputs);

    /// <summary>Parses the full form, checking every layer against the shape it receives; allocates no parameters.</summary>
    /// <exception cref="FormatException">The description is not valid.</exception>
    internal static Parsed Parse(string full)
    {
        int colon = full.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new FormatException($"'{full}' has no input shape: expected e.g. 1x28x28:conv32k5,pool,relu,dense10.");
        }

        string[] dims = full[..colon].Split('x');
        int c = 0, h = 0, w = 0;
        bool image = dims.Length == 3 && Number(dims[0], out c) && Number(dims[1], out h) && Number(dims[2], out w);
        int flat = 0;
        if (!image && !(dims.Length == 1 && Number(dims[0], out flat)))
        {
            throw new FormatException($"the input shape '{full[..colon]}' is neither channels x height x width (1x28x28) nor a size (784).");
        }

        if (image && (long)c * h * w > int.MaxValue)
        {
            throw new FormatException($"the input shape '{full[..colon]}' is too large.");
        }

        int size = image ? c * h * w : flat;
        var layers = new List<(string, int, int, int, int)>();
        foreach (string token in Tokens(full[(colon + 1)..]))
        {
            layers.Add((token, size, c, h, w));
            if (token.StartsWith("conv", StringComparison.Ordinal))
            {
                (int outChannels, int kernel, bool valid) = Conv(token);
                if (!image)
                {
                    throw new FormatException($"'{token}' needs an image (channels x height x width), but the layer before it gives {size} values.");
                }

                if (valid ? kernel > h || kernel > w : kernel % 2 == 0)
                {
                    throw new FormatException(valid ? $"'{token}': a {kernel} × {kernel} kernel does not fit a {h} × {w} image." : $"'{token}': 'same' padding needs an odd kernel size.");
                }

                if (valid)
                {
                    h -= kernel - 1;
                    w -= kernel - 1;
                }

                c = outChannels;
                size = Checked((long)c * h * w, token);
            }
            else if (token == "pool")
            {
                if (!image || h < 2 || w < 2)
                {
                    throw new FormatException($"'pool' needs an image of at least 2 × 2, but the layer before it gives {(image ? $"{h} × {w}" : $"{size} values")}.");
                }

                h /= 2;
                w /= 2;
                size = c * h * w;
            }
            else if (token.StartsWith("dense", StringComparison.Ordinal))
            {
                if (!Number(token[5..], out size) || size > SoftmaxCrossEntropy<float>.MaxClasses)
                {
                    throw new FormatException($"'{token}': expected dense<units>, 1 to 65536 units, such as dense128.");
                }

                image = false;
            }
            else if (token.StartsWith("dropout", StringComparison.Ordinal))
            {
                _ = Rate(token);
            }
            else if (token != "relu")
            {
                throw new FormatException($"unknown layer '{token}': expected conv<channels>k<size>[valid], pool, dense<units>, dropout<p> or relu.");
            }
        }

        if (layers.Count == 0 || !layers[^1].Item1.StartsWith("dense", StringComparison.Ordinal))
        {
            throw new FormatException($"'{full}' must end with a dense layer to the classes (softmax follows it).");
        }

        return new Parsed(layers, size);
    }

    /// <summary>The storage (rows × columns) of every parameter a parsed description holds, in order, before anything is allocated.</summary>
    internal static IEnumerable<(long Rows, long Columns)> ParameterShapes(Parsed parsed)
    {
        foreach ((string token, int inputs, int inChannels, _, _) in parsed.Layers)
        {
            if (token.StartsWith("conv", StringComparison.Ordinal))
            {
                (int outChannels, int kernel, _) = Conv(token);
                yield return (outChannels, (long)inChannels * kernel * kernel);
                yield return (outChannels, 1);
            }
            else if (token.StartsWith("dense", StringComparison.Ordinal))
            {
                int units = int.Parse(token.AsSpan(5), CultureInfo.InvariantCulture);
                yield return (units, inputs);
                yield return (units, 1);
            }
        }
    }

    /// <summary>Builds the layers of a parsed description (parameters zero), ending with softmax.</summary>
    internal static Network<T> Create<T>(Parsed parsed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layers = new List<Layer<T>>();
        foreach ((string token, int inputs, int c, int h, int w) in parsed.Layers)
        {
            if (token.StartsWith("conv", StringComparison.Ordinal))
            {
                (int outChannels, int kernel, bool valid) = Conv(token);
                layers.Add(new Conv2D<T>(c, h, w, outChannels, kernel, valid ? ConvolutionPadding.Valid : ConvolutionPadding.Same));
            }
            else if (token == "pool")
            {
                layers.Add(new MaxPool2D<T>(c, h, w));
            }
            else if (token.StartsWith("dense", StringComparison.Ordinal))
            {
                layers.Add(new Dense<T>(inputs, int.Parse(token.AsSpan(5), CultureInfo.InvariantCulture)));
            }
            else if (token.StartsWith("dropout", StringComparison.Ordinal))
            {
                layers.Add(new Dropout<T>(inputs, Rate(token)));
            }
            else
            {
                layers.Add(new ReLU<T>(inputs));
            }
        }

        layers.Add(new SoftmaxCrossEntropy<T>(parsed.Outputs));
        return new Network<T>(layers);
    }

    /// <summary>The full form of <paramref name="layers"/>, or null when a layer has no description (a user's own layer, or no softmax at the end).</summary>
    internal static string? Describe<T>(IReadOnlyList<Layer<T>> layers)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var text = new StringBuilder();
        text.Append(layers[0] switch
        {
            Conv2D<T> conv => Invariant($"{conv.InChannels}x{conv.Height}x{conv.Width}"),
            MaxPool2D<T> pool => Invariant($"{pool.Channels}x{pool.Height}x{pool.Width}"),
            _ => Invariant($"{layers[0].InputSize}"),
        });
        text.Append(':');
        for (int i = 0; i < layers.Count - 1; i++)
        {
            string? token = layers[i] switch
            {
                Conv2D<T> conv => Invariant($"conv{conv.OutChannels}k{conv.KernelSize}{(conv.Padding == ConvolutionPadding.Valid ? "valid" : string.Empty)}"),
                MaxPool2D<T> => "pool",
                Dense<T> dense => Invariant($"dense{dense.OutputSize}"),
                Dropout<T> dropout => Invariant($"dropout{dropout.Rate:R}"),
                ReLU<T> => "relu",
                _ => null,
            };
            if (token is null)
            {
                return null;
            }

            text.Append(i == 0 ? string.Empty : ",").Append(token);
        }

        return text.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static IEnumerable<string> Tokens(string stack)
    {
        foreach (string raw in stack.Split(','))
        {
            string token = raw.Trim().ToLowerInvariant();
            if (token.Length == 0)
            {
                if (stack.Trim().Length == 0)
                {
                    yield break;
                }

                throw new FormatException($"'{stack}' has an empty layer between commas.");
            }

            yield return token;
        }
    }

    private static (int OutChannels, int Kernel, bool Valid) Conv(string token)
    {
        string body = token[4..];
        bool valid = body.EndsWith("valid", StringComparison.Ordinal);
        if (valid)
        {
            body = body[..^5];
        }

        int k = body.IndexOf('k', StringComparison.Ordinal);
        if (k < 0 || !Number(body[..k], out int channels) || !Number(body[(k + 1)..], out int kernel) || channels > 65536 || kernel > 64)
        {
            throw new FormatException($"'{token}': expected conv<channels>k<size>[valid], such as conv32k5 (1 to 65536 channels, kernels 1 to 64).");
        }

        return (channels, kernel, valid);
    }

    private static double Rate(string token)
    {
        if (!double.TryParse(token.AsSpan(7), NumberStyles.Float, CultureInfo.InvariantCulture, out double rate) || !(rate >= 0 && rate < 1))
        {
            throw new FormatException($"'{token}': expected dropout<p> with p in [0, 1), such as dropout0.5.");
        }

        return rate;
    }

    private static bool Number(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= 1;

    private static int Checked(long size, string token) =>
        size <= int.MaxValue ? (int)size : throw new FormatException($"'{token}' makes {size} values per example, too many.");
}
