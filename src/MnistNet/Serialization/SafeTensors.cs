using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MnistNet.Data;

namespace MnistNet.Serialization;

/// <summary>One tensor of a safetensors file: its name, dtype, shape and bytes [Begin, End) of the data section.</summary>
internal sealed record TensorEntry(string Name, string DType, long[] Shape, long Begin, long End);

/// <summary>
/// The safetensors layout (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// (padded with spaces to a multiple of 8), then the raw little-endian tensor bytes. The reader applies the reference
/// implementation's rules and reports any violation as an <see cref="InvalidDataException"/> with the byte offset.
/// </summary>
internal sealed class SafeTensors
{
    /// <summary>The reference implementation's limit on the header size.</summary>
    public const long MaxHeaderBytes = 100_000_000;


    private readonly byte[] _file;
    private readonly long _dataStart;

    private SafeTensors(string source, byte[] file, long dataStart, Dictionary<string, string> metadata, List<TensorEntry> tensors)
    {
        Source = source;
        _file = file;
        _dataStart = dataStart;
        Metadata = metadata;
        Tensors = tensors;
    }

    public string Source { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors in data order.</summary>
    public IReadOnlyList<TensorEntry> Tensors { get; }

    public ReadOnlySpan<byte> Data => _file.AsSpan((int)_dataStart);

    public static int DTypeSize(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" => 1,
        "I16" or "U16" or "F16" or "BF16" => 2,
        "I32" or "U32" or "F32" => 4,
        "I64" or "U64" or "F64" => 8,
        _ => 0,
    };

    public ReadOnlySpan<byte> Bytes(TensorEntry tensor) => _file.AsSpan((int)(_dataStart + tensor.Begin), (int)(tensor.End - tensor.Begin));

    public TensorEntry? Find(string name) => Tensors.FirstOrDefault(t => t.Name == name);

    /// <summary>The data offset of a tensor in the whole file (for error messages).</summary>
    public long FileOffset(TensorEntry tensor) => _dataStart + tensor.Begin;

    public static SafeTensors Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        DataFiles.RequireFile(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);

        // Stryker disable once Equality : a file of exactly Array.MaxLength bytes (2 GB) is read whole; no test allocates that
        if (stream.Length > Array.MaxLength)
        {
            throw DataErrors.AtOffset(path, 0, $"the file is {stream.Length} bytes; model files larger than {Array.MaxLength} bytes are not supported.");
        }

        byte[] file = new byte[stream.Length];
        stream.ReadExactly(file);
        return Parse(path, file);
    }

    public static SafeTensors Parse(string source, byte[] file)
    {
        if (file.Length < 8)
        {
            throw DataErrors.AtOffset(source, 0, $"the file is {file.Length} bytes; a safetensors file starts with an 8-byte little-endian header length.");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > MaxHeaderBytes)
        {
            throw DataErrors.AtOffset(source, 0, $"the header length is {headerLength} bytes; at most {MaxHeaderBytes} are allowed.");
        }

        if ((long)headerLength > file.Length - 8)
        {
            throw DataErrors.AtOffset(source, 0, $"the header length is {headerLength} bytes, but only {file.Length - 8} bytes follow it.");
        }

        long dataStart = 8 + (long)headerLength;
        string json;
        try
        {
            // Stryker disable once Boolean : the first argument only says whether an encoder would write a byte-order mark
            json = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(file, 8, (int)headerLength);
        }
        catch (DecoderFallbackException ex)
        {
            throw DataErrors.AtOffset(source, 8 + Math.Max(0, ex.Index), "the header is not valid UTF-8.", ex);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw DataErrors.AtOffset(source, 8 + (ex.BytePositionInLine ?? 0), $"the header is not valid JSON ({ex.Message})", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw DataErrors.AtOffset(source, 8, $"the header must be a JSON object, found {document.RootElement.ValueKind}.");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<TensorEntry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                {
                    throw DataErrors.AtOffset(source, 8, $"the header has the key \"{property.Name}\" twice.");
                }

                if (property.Name == "__metadata__")
                {
                    ReadMetadata(source, property.Value, metadata);
                }
                else
                {
                    tensors.Add(ReadTensor(source, property.Name, property.Value));
                }
            }

            CheckLayout(source, tensors, file.Length - dataStart);
            return new SafeTensors(source, file, dataStart, metadata, tensors);
        }
    }

    /// <summary>Writes a file atomically; tensors are laid out in the given order.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<(string Name, string DType, long[] Shape, byte[] Data)> tensors)
    {
        byte[] bytes = Serialize(metadata, tensors);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    public static byte[] Serialize(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<(string Name, string DType, long[] Shape, byte[] Data)> tensors)
    {
        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach ((string key, string value) in metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach ((string name, string dtype, long[] shape, byte[] data) in tensors)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (long dimension in shape)
                {
                    json.WriteNumberValue(dimension);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += data.Length;
            }

            json.WriteEndObject();
        }

        int padded = (int)((header.Length + 7) / 8 * 8);
        while (header.Length < padded)
        {
            header.WriteByte((byte)' ');
        }

        using var output = new MemoryStream();
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        output.Write(length);
        header.Position = 0;
        header.CopyTo(output);
        foreach ((_, _, _, byte[] data) in tensors)
        {
            output.Write(data);
        }

        return output.ToArray();
    }

    public static string Checksum(ReadOnlySpan<byte> data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    private static void ReadMetadata(string source, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw DataErrors.AtOffset(source, 8, $"__metadata__ must be an object of strings, found {value.ValueKind}.");
        }

        foreach (JsonProperty entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw DataErrors.AtOffset(source, 8, $"__metadata__ entry \"{entry.Name}\" must be a string, found {entry.Value.ValueKind}.");
            }

            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
            {
                throw DataErrors.AtOffset(source, 8, $"__metadata__ has the key \"{entry.Name}\" twice.");
            }
        }
    }

    private static TensorEntry ReadTensor(string source, string name, JsonElement value)
    {
        string where = $"tensor \"{name}\"";
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw DataErrors.AtOffset(source, 8, $"{where} must be an object with dtype, shape and data_offsets, found {value.ValueKind}.");
        }

        if (!value.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw DataErrors.AtOffset(source, 8, $"{where} has no string \"dtype\".");
        }

        string dtype = dtypeElement.GetString()!;
        if (DTypeSize(dtype) == 0)
        {
            throw DataErrors.AtOffset(source, 8, $"{where} has the unknown dtype \"{dtype}\".");
        }

        long[] shape = ReadIntegers(source, where, value, "shape", exactCount: null);
        long[] offsets = ReadIntegers(source, where, value, "data_offsets", exactCount: 2);
        if (offsets[0] > offsets[1])
        {
            throw DataErrors.AtOffset(source, 8, $"{where} has data_offsets [{offsets[0]}, {offsets[1]}], which end before they begin.");
        }

        long bytes;
        try
        {
            long count = 1;
            foreach (long dimension in shape)
            {
                count = checked(count * dimension);
            }

            bytes = checked(count * DTypeSize(dtype));
        }
        catch (OverflowException)
        {
            throw DataErrors.AtOffset(source, 8, $"{where} has a shape [{string.Join(", ", shape)}] too large to store.");
        }

        if (offsets[1] - offsets[0] != bytes)
        {
            throw DataErrors.AtOffset(source, 8, $"{where}: a {dtype} tensor of shape [{string.Join(", ", shape)}] takes {bytes} bytes, but data_offsets [{offsets[0]}, {offsets[1]}] span {offsets[1] - offsets[0]}.");
        }

        return new TensorEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    /// <summary>Reads the array <paramref name="key"/> of non-negative integers: <paramref name="exactCount"/> of them, or at most 64 when null.</summary>
    private static long[] ReadIntegers(string source, string where, JsonElement tensor, string key, int? exactCount)
    {
        if (!tensor.TryGetProperty(key, out JsonElement array) || array.ValueKind != JsonValueKind.Array)
        {
            throw DataErrors.AtOffset(source, 8, $"{where} has no array \"{key}\".");
        }

        int length = array.GetArrayLength();
        if ((exactCount is int count && length != count) || length > 64)
        {
            throw DataErrors.AtOffset(source, 8, $"{where}: \"{key}\" has {length} entries, expected {exactCount?.ToString(CultureInfo.InvariantCulture) ?? "at most 64"}.");
        }

        var values = new long[length];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long v) || v < 0)
            {
                throw DataErrors.AtOffset(source, 8, $"{where}: \"{key}\" entry {i} must be a non-negative integer, found {item.GetRawText()}.");
            }

            values[i++] = v;
        }

        return values;
    }

    private static void CheckLayout(string source, List<TensorEntry> tensors, long dataLength)
    {
        tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        foreach (TensorEntry tensor in tensors)
        {
            if (tensor.Begin < expected)
            {
                throw DataErrors.AtOffset(source, 8, $"tensor \"{tensor.Name}\" starts at data offset {tensor.Begin}, inside the tensor before it (which ends at {expected}): it overlaps it. Tensors must cover the data without gaps or overlaps.");
            }

            if (tensor.Begin > expected)
            {
                throw DataErrors.AtOffset(source, 8, $"tensor \"{tensor.Name}\" starts at data offset {tensor.Begin}, expected {expected}: a gap. Tensors must cover the data without gaps or overlaps.");
            }

            expected = tensor.End;
        }

        if (expected != dataLength)
        {
            throw DataErrors.AtOffset(source, 8, $"the tensors cover {expected} bytes of data, but the file holds {dataLength} after the header.");
        }
    }
}
