using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using MnistNet.Data;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Serialization;

/// <summary>
/// Saves and loads <see cref="DenseNetwork{T}"/> models in the safetensors layout, so that Python's
/// <c>safetensors</c> package reads them (and MnistNet reads files it writes).
/// </summary>
/// <remarks>
/// <para>Tensors: <c>layers.{l}.weight</c> with shape [sizes[l+1], sizes[l]] (row-major, as PyTorch's
/// <c>nn.Linear.weight</c>) and <c>layers.{l}.bias</c> with shape [sizes[l+1]], dtype F32 for float and F64 for double.
/// Metadata: <c>format</c> = "mnistnet", <c>format_version</c>, <c>architecture</c> (e.g. "784-256-10"),
/// <c>activation</c> = "relu", <c>output</c> = "softmax", <c>dtype</c>, and <c>checksum</c> = "sha256:" + the SHA-256
/// of the tensor bytes. Files are written atomically: a failed save leaves the previous file intact.</para>
/// <para>Loading checks every rule of the format (header size, JSON, offsets, shapes), the layer chain and the checksum
/// when present, and reports a problem as an <see cref="InvalidDataException"/> naming the file and the byte offset.
/// A file without MnistNet's metadata (for instance written from Python) loads when its tensors follow the names above.
/// Other tensors (a checkpoint's optimiser state) are ignored.</para>
/// </remarks>
public static class ModelFile
{
    /// <summary>The value of the <c>format</c> metadata entry.</summary>
    public const string FormatName = "mnistnet";

    /// <summary>
    /// The version of the layout this library writes; files with a higher version are refused. Version 2's checksum covers
    /// the metadata and every tensor's name, dtype and shape as well as the bytes (version 1's covered the bytes only).
    /// </summary>
    public const int FormatVersion = 2;

    /// <summary>Saves <paramref name="network"/> to <paramref name="path"/>.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="network">The network.</param>
    /// <param name="path">The file to write (conventionally <c>.safetensors</c>).</param>
    /// <param name="metadata">Extra string metadata to store (keys must not be MnistNet's own).</param>
    /// <exception cref="ArgumentNullException"><paramref name="network"/> is null.</exception>
    /// <exception cref="ArgumentException">A metadata key is reserved, or <paramref name="path"/> is empty.</exception>
    /// <exception cref="IOException">The file cannot be written; any previous file is left as it was.</exception>
    public static void Save<T>(Network<T> network, string path, IReadOnlyDictionary<string, string>? metadata = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        var extra = new Dictionary<string, string>(StringComparer.Ordinal);
        if (metadata is not null)
        {
            foreach ((string key, string value) in metadata)
            {
                if (IsReserved(key))
                {
                    throw new ArgumentException($"The metadata key \"{key}\" is reserved by MnistNet.", nameof(metadata));
                }

                extra[key] = value;
            }
        }

        Write(network, path, extra, []);
    }

    /// <summary>Loads a network from <paramref name="path"/>, converting F32/F64 tensors to <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="path">The model file.</param>
    /// <returns>The network.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid model.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static DenseNetwork<T> Load<T>(string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        SafeTensors file = SafeTensors.Read(path);
        return ReadNetwork<T>(file);
    }

    /// <summary>
    /// Loads any MnistNet model file: a stack of dense layers (as a <see cref="DenseNetwork{T}"/>, like
    /// <see cref="Load{T}"/>), or a network whose <c>architecture</c> entry is a full <see cref="NetworkSpec"/> description
    /// (convolutions, pooling, dropout), rebuilt layer by layer with every tensor's name and shape checked against it.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="path">The model file.</param>
    /// <returns>The network.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid model.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static Network<T> LoadNetwork<T>(string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        SafeTensors file = SafeTensors.Read(path);
        return ReadAnyNetwork<T>(file);
    }

    /// <summary>The network of a parsed model or checkpoint file: described by its architecture, or a stack of dense layers.</summary>
    internal static Network<T> ReadAnyNetwork<T>(SafeTensors file)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        file.Metadata.TryGetValue("architecture", out string? architecture) && architecture.Contains(':', StringComparison.Ordinal)
            ? ReadDescribed<T>(file, architecture)
            : ReadNetwork<T>(file);

    /// <summary>Reads the metadata of a model or checkpoint file (checking the file's layout, not its checksum).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The metadata entries.</returns>
    /// <exception cref="InvalidDataException">The file is not valid safetensors.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path) => SafeTensors.Read(path).Metadata;

    internal static bool IsReserved(string key) =>
        key is "format" or "format_version" or "architecture" or "activation" or "output" or "dtype" or "checksum" || key.StartsWith("mnistnet.", StringComparison.Ordinal);

    /// <summary>Writes the network's tensors, then <paramref name="extraTensors"/>, with MnistNet's metadata and <paramref name="metadata"/>.</summary>
    internal static void Write<T>(Network<T> network, string path, Dictionary<string, string> metadata, IReadOnlyList<(string Name, Matrix<T> Value)> extraTensors)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Every parameter under its name and file shape (layers.{l}.weight [out, in], layers.{l}.bias [out]).
        var tensors = new List<(string Name, string DType, long[] Shape, byte[] Data)>();
        foreach (Parameter<T> parameter in network.Parameters)
        {
            tensors.Add(Tensor(parameter.Name, parameter.Value, [.. parameter.Shape.Select(d => (long)d)]));
        }

        foreach ((string name, Matrix<T> value) in extraTensors)
        {
            tensors.Add(Tensor(name, value, [value.Rows, value.Columns]));
        }

        var all = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = FormatName,
            ["format_version"] = FormatVersion.ToString(CultureInfo.InvariantCulture),
            ["architecture"] = network.Architecture,
            ["activation"] = "relu",
            ["output"] = "softmax",
            ["dtype"] = DType<T>(),
        };
        foreach ((string key, string value) in metadata)
        {
            all[key] = value;
        }

        all["checksum"] = Checksum(all, [.. tensors.Select(t => (t.Name, t.DType, t.Shape))], i => tensors[i].Data);
        SafeTensors.Write(path, all, tensors);
    }

    /// <summary>Builds the network from a parsed file, checking version, checksum and the layer chain.</summary>
    internal static DenseNetwork<T> ReadNetwork<T>(SafeTensors file)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string source = file.Source;
        CheckVersionAndChecksum(file);
        if (file.Metadata.TryGetValue("architecture", out string? described) && described.Contains(':', StringComparison.Ordinal))
        {
            throw DataErrors.InHeader(source, $"the file holds the network {described}, not a stack of dense layers; load it with ModelFile.LoadNetwork.");
        }

        // The layer chain: layers.0.weight, layers.0.bias, layers.1.weight, … each weight's columns equal to the rows before.
        // First every shape, the output size, the architecture and the memory they need; only then any allocation.
        var sizes = new List<int>();
        var layers = new List<(TensorEntry Weight, TensorEntry Bias, int Rows, int Columns)>();
        for (int l = 0; ; l++)
        {
            TensorEntry? weight = file.Find($"layers.{l}.weight");
            if (weight is null)
            {
                break;
            }

            TensorEntry bias = file.Find($"layers.{l}.bias") ?? throw DataErrors.InHeader(source, $"layers.{l}.weight has no layers.{l}.bias.");

            // Stryker disable once Equality : a dimension of exactly int.MaxValue needs a tensor of 2 GB or more in a file read whole into one array
            if (weight.Shape.Length != 2 || weight.Shape[0] < 1 || weight.Shape[1] < 1 || weight.Shape[0] > int.MaxValue || weight.Shape[1] > int.MaxValue)
            {
                throw DataErrors.AtOffset(source, 8, $"layers.{l}.weight must be a non-empty matrix, found shape [{string.Join(", ", weight.Shape)}].");
            }

            int rows = (int)weight.Shape[0];
            int columns = (int)weight.Shape[1];
            if (l == 0)
            {
                sizes.Add(columns);
            }
            else if (columns != sizes[^1])
            {
                throw DataErrors.AtOffset(source, 8, $"layers.{l}.weight has {columns} columns, but layer {l - 1} has {sizes[^1]} outputs.");
            }

            if (bias.Shape.Length != 1 || bias.Shape[0] != rows)
            {
                throw DataErrors.AtOffset(source, 8, $"layers.{l}.bias must have shape [{rows}], found [{string.Join(", ", bias.Shape)}].");
            }

            sizes.Add(rows);
            layers.Add((weight, bias, rows, columns));
        }

        if (layers.Count == 0)
        {
            throw DataErrors.InHeader(source, "no tensor layers.0.weight: not a MnistNet model (expected layers.{l}.weight and layers.{l}.bias).");
        }

        if (sizes[^1] > SoftmaxCrossEntropy<T>.MaxClasses)
        {
            throw DataErrors.InHeader(source, $"the last layer has {sizes[^1]} outputs; at most 65 536 are supported.");
        }

        string architecture = string.Join('-', sizes);
        if (file.Metadata.TryGetValue("architecture", out string? declared) && declared != architecture)
        {
            throw DataErrors.InHeader(source, $"the metadata says architecture {declared}, but the tensors make {architecture}.");
        }

        // Rows are padded to 64 bytes, so a tall, thin tensor needs more memory than its bytes in the file; refuse a file
        // that would need more than 16 times its size (every real network needs far less), before allocating any of it.
        long needed = layers.Sum(layer => PaddedBytes<T>(layer.Rows, layer.Columns) + PaddedBytes<T>(layer.Rows, 1));
        if (needed > MemoryLimit(file))
        {
            throw DataErrors.InHeader(source, $"the tensors of {architecture} would need {needed} bytes of memory for {file.Data.Length} bytes of data; at most 16 times the data (+ 1 MB) is accepted.");
        }

        var parameters = new List<Matrix<T>>();
        foreach ((TensorEntry weight, TensorEntry bias, int rows, int columns) in layers)
        {
            parameters.Add(ReadMatrix<T>(file, weight, rows, columns));
            parameters.Add(ReadMatrix<T>(file, bias, rows, 1));
        }

        return DenseNetwork<T>.FromParameters([.. sizes], parameters);
    }

    private static void CheckVersionAndChecksum(SafeTensors file)
    {
        if (file.Metadata.TryGetValue("format_version", out string? version)
            && (!int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v > FormatVersion || v < 1))
        {
            throw DataErrors.InHeader(file.Source, $"format_version \"{version}\" is not supported; this MnistNet reads versions 1 to {FormatVersion}.");
        }

        VerifyChecksum(file);
    }

    /// <summary>Builds the network a full <see cref="NetworkSpec"/> description names, checking each tensor against it, and the memory it needs before allocating.</summary>
    private static Network<T> ReadDescribed<T>(SafeTensors file, string architecture)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string source = file.Source;
        CheckVersionAndChecksum(file);
        NetworkSpec.Parsed parsed;
        try
        {
            parsed = NetworkSpec.Parse(architecture);
        }
        catch (FormatException e)
        {
            throw DataErrors.InHeader(source, $"the architecture \"{architecture}\" is not valid: {e.Message}");
        }

        // The parameters' memory as the matrices will hold it, before any of it is allocated (Parse bounds every size, so
        // the sum cannot overflow: at most 65 536 rows of at most 2^28 columns per tensor).
        long needed = NetworkSpec.ParameterShapes(parsed).Sum(shape => PaddedBytes<T>(shape.Rows, shape.Columns));
        if (needed > MemoryLimit(file))
        {
            throw DataErrors.InHeader(source, $"the network {architecture} would need {needed} bytes of memory for {file.Data.Length} bytes of data; at most 16 times the data (+ 1 MB) is accepted.");
        }

        Network<T> network = NetworkSpec.Create<T>(parsed);
        foreach (Parameter<T> parameter in network.Parameters)
        {
            TensorEntry tensor = file.Find(parameter.Name) ?? throw DataErrors.InHeader(source, $"the architecture {architecture} needs a tensor {parameter.Name} [{string.Join(", ", parameter.Shape)}], which the file does not have.");
            if (!tensor.Shape.SequenceEqual(parameter.Shape.Select(d => (long)d)))
            {
                throw DataErrors.AtOffset(source, 8, $"{parameter.Name} must have shape [{string.Join(", ", parameter.Shape)}] for {architecture}, found [{string.Join(", ", tensor.Shape)}].");
            }

            ReadMatrix<T>(file, tensor, parameter.Value.Rows, parameter.Value.Columns).CopyTo(parameter.Value);
        }

        int layersWithParameters = network.Layers.Count(l => l.Parameters.Count > 0);
        if (file.Find($"layers.{layersWithParameters}.weight") is not null)
        {
            throw DataErrors.InHeader(source, $"the file has a tensor layers.{layersWithParameters}.weight, but its architecture {architecture} has only {layersWithParameters} layers with weights.");
        }

        return network;
    }

    /// <summary>The bytes a rows × columns matrix takes with its rows padded to 64 bytes.</summary>
    private static long PaddedBytes<T>(long rows, long columns)
        where T : unmanaged
    {
        int perLine = 64 / System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        return rows * ((columns + perLine - 1) / perLine * perLine) * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
    }

    /// <summary>
    /// The most memory a file's parameters may take: 16 times its data, plus 1 MB (rows are padded to 64 bytes, so a tall,
    /// thin tensor needs more than its bytes; every real network needs far less).
    /// </summary>
    private static long MemoryLimit(SafeTensors file) => (16 * (long)file.Data.Length) + (1 << 20);

    /// <summary>
    /// Checks the file's integrity. A file that says it is MnistNet's — <c>format</c> = mnistnet, or any of MnistNet's own
    /// keys (<c>format_version</c>, <c>architecture</c>, <c>mnistnet.*</c>) — must carry a checksum:
    /// from version 2 on over the metadata and every tensor (name, dtype, shape, bytes), in version 1 (0.1–0.2, which
    /// always wrote one) over the tensor bytes. So a flipped bit in a key name cannot switch the check off. Files from
    /// other tools (none of those keys) need none; if they carry one, it covers the tensor bytes.
    /// </summary>
    internal static void VerifyChecksum(SafeTensors file)
    {
        string source = file.Source;
        IReadOnlyDictionary<string, string> meta = file.Metadata;
        meta.TryGetValue("format", out string? format);
        string? marker = meta.Keys.FirstOrDefault(k => k is "format_version" or "architecture" || k.StartsWith("mnistnet.", StringComparison.Ordinal));
        if (format != FormatName && marker is null)
        {
            // Another tool's file: a checksum, if it has one, covers the tensor bytes (as version 1's did).
            if (meta.TryGetValue("checksum", out string? foreign))
            {
                VerifyBytesChecksum(file, foreign);
            }

            return;
        }

        if (format != FormatName)
        {
            throw DataErrors.InHeader(source, $"the file has MnistNet's key \"{marker}\" but its format is {(format is null ? "missing" : $"\"{format}\"")}, not \"{FormatName}\": it was changed or damaged.");
        }

        if (!meta.TryGetValue("format_version", out string? text) || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int version) || version < 1)
        {
            throw DataErrors.InHeader(source, "the file says it is MnistNet's but has no valid format_version: it was changed or damaged.");
        }

        if (!meta.TryGetValue("checksum", out string? checksum))
        {
            throw DataErrors.InHeader(source, $"the file says it is MnistNet format version {version} but has no checksum; it was changed or truncated.");
        }

        if (version >= 2)
        {
            string actual = Checksum(meta, [.. file.Tensors.Select(t => (t.Name, t.DType, t.Shape))], i => file.Bytes(file.Tensors[i]));
            if (!string.Equals(checksum, actual, StringComparison.Ordinal))
            {
                throw DataErrors.InHeader(source, $"the checksum does not match: the metadata says {checksum}, the file's metadata, tensor entries and bytes hash to {actual}. The file is corrupt or was changed.");
            }
        }
        else
        {
            VerifyBytesChecksum(file, checksum);
        }
    }

    /// <summary>Version 1's checksum (and other tools'): SHA-256 over the tensor bytes.</summary>
    private static void VerifyBytesChecksum(SafeTensors file, string checksum)
    {
        string actual = SafeTensors.Checksum(file.Data);
        if (!string.Equals(checksum, actual, StringComparison.Ordinal))
        {
            throw DataErrors.InHeader(file.Source, $"the checksum does not match: the metadata says {checksum}, the tensor bytes hash to {actual}. The file is corrupt.");
        }
    }

    /// <summary>
    /// SHA-256 over every metadata entry but the checksum (keys in ordinal order), then every tensor in name order:
    /// name, dtype, shape and bytes — so no number in the file can change without the checksum noticing.
    /// </summary>
    private static string Checksum(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<(string Name, string DType, long[] Shape)> tensors, TensorBytes bytes)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        void Text(string value)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(value));
            hash.AppendData([0]);
        }

        foreach (string key in metadata.Keys.Where(k => k != "checksum").Order(StringComparer.Ordinal))
        {
            Text(key);
            Text(metadata[key]);
        }

        hash.AppendData([1]);
        foreach (int i in Enumerable.Range(0, tensors.Count).OrderBy(i => tensors[i].Name, StringComparer.Ordinal))
        {
            (string name, string dtype, long[] shape) = tensors[i];
            Text(name);
            Text(dtype);
            Text(string.Join(',', shape.Select(d => d.ToString(CultureInfo.InvariantCulture))));
            ReadOnlySpan<byte> data = bytes(i);
            Text(data.Length.ToString(CultureInfo.InvariantCulture));
            hash.AppendData(data);
        }

        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The bytes of tensor i (in the list given to <see cref="Checksum"/>), read in place.</summary>
    private delegate ReadOnlySpan<byte> TensorBytes(int index);

    /// <summary>Reads a tensor whose shape the caller has checked to hold rows × columns elements, converting F32/F64 to <typeparamref name="T"/>.</summary>
    internal static Matrix<T> ReadMatrix<T>(SafeTensors file, TensorEntry tensor, int rows, int columns)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (tensor.DType is not ("F32" or "F64"))
        {
            throw DataErrors.AtOffset(file.Source, file.FileOffset(tensor), $"tensor \"{tensor.Name}\" has dtype {tensor.DType}; expected F32 or F64.");
        }

        var matrix = new Matrix<T>(rows, columns);
        ReadOnlySpan<byte> bytes = file.Bytes(tensor);
        bool single = tensor.DType == "F32";
        int size = single ? 4 : 8;

        // The file's dtype is T on a little-endian host: its bytes are the row's bytes (a copy per row).
        bool sameLayout = BitConverter.IsLittleEndian && typeof(T) == (single ? typeof(float) : typeof(double));
        for (int r = 0; r < rows; r++)
        {
            Span<T> row = matrix.Row(r);
            ReadOnlySpan<byte> source = bytes.Slice(r * columns * size, columns * size);
            if (sameLayout)
            {
                MemoryMarshal.Cast<byte, T>(source).CopyTo(row);
            }
            else
            {
                for (int c = 0; c < columns; c++)
                {
                    ReadOnlySpan<byte> at = source.Slice(c * size, size);
                    row[c] = single
                        ? T.CreateTruncating(BinaryPrimitives.ReadSingleLittleEndian(at))
                        : T.CreateTruncating(BinaryPrimitives.ReadDoubleLittleEndian(at));
                }
            }
        }

        return matrix;
    }

    internal static string DType<T>() => typeof(T) == typeof(float) ? "F32" : "F64";

    private static (string Name, string DType, long[] Shape, byte[] Data) Tensor<T>(string name, Matrix<T> value, long[] shape)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = typeof(T) == typeof(float) ? 4 : 8;
        byte[] data = new byte[(long)value.Rows * value.Columns * size];
        for (int r = 0; r < value.Rows; r++)
        {
            ReadOnlySpan<byte> row = MemoryMarshal.AsBytes<T>(value.Row(r));
            Span<byte> target = data.AsSpan(r * value.Columns * size, value.Columns * size);
            row.CopyTo(target);
            // Stryker disable once all : runs only on big-endian hosts; every host the tests run on is little-endian
            if (!BitConverter.IsLittleEndian)
            {
                for (int i = 0; i < target.Length; i += size)
                {
                    target.Slice(i, size).Reverse();
                }
            }
        }

        return (name, DType<T>(), shape, data);
    }
}
