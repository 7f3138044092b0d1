using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Serialization;

namespace MnistNet.Tests;

public sealed class ModelFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mnistnet-models-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void SaveLoad_FloatAndDouble_SameBitsAndMetadata()
    {
        var net = new DenseNetwork<float>([784, 30, 20, 10], seed: 3);
        string path = Path.Combine(_folder, "model.safetensors");
        ModelFile.Save(net, path, new Dictionary<string, string> { ["trained_on"] = "MNIST \"train\" ✓" });
        DenseNetwork<float> loaded = DenseNetwork<float>.Load(path);
        TrainerTests.AssertSameParameters(net, loaded);
        IReadOnlyDictionary<string, string> meta = ModelFile.ReadMetadata(path);
        Assert.Equal("mnistnet", meta["format"]);
        Assert.Equal("2", meta["format_version"]);
        Assert.Equal("784-30-20-10", meta["architecture"]);
        Assert.Equal("F32", meta["dtype"]);
        Assert.StartsWith("sha256:", meta["checksum"]);
        Assert.Equal("MNIST \"train\" ✓", meta["trained_on"]);

        var d = new DenseNetwork<double>([5, 3], seed: 1);
        d.Save(path);
        TrainerTests.AssertSameParameters(d, DenseNetwork<double>.Load(path));

        // F64 file into float: every value converted (rounded); F32 file into double: every value exactly.
        DenseNetwork<float> narrowed = DenseNetwork<float>.Load(path);
        for (int p = 0; p < d.Parameters.Count; p++)
        {
            Assert.Equal(d.Parameters[p].Value.ToArray().Cast<double>().Select(v => (float)v), narrowed.Parameters[p].Value.ToArray().Cast<float>());
        }

        net.Save(path);
        DenseNetwork<double> widened = DenseNetwork<double>.Load(path);
        for (int p = 0; p < net.Parameters.Count; p++)
        {
            Assert.Equal(net.Parameters[p].Value.ToArray().Cast<float>().Select(v => (double)v), widened.Parameters[p].Value.ToArray().Cast<double>());
        }

        Assert.Throws<ArgumentException>(() => ModelFile.Save(net, path, new Dictionary<string, string> { ["checksum"] = "x" }));
    }

    [Fact]
    public void Save_WritesTheSafetensorsBytesOfTheSpec()
    {
        // A 2-2 network with known values; the expected bytes are built here from the format's description.
        var net = new DenseNetwork<float>([2, 2], seed: 0);
        float[] w = [1f, -2f, 0.5f, 3f];
        float[] b = [0.25f, -1f];
        for (int i = 0; i < 4; i++)
        {
            net.Weights[0][i / 2, i % 2] = w[i];
        }

        net.Biases[0][0, 0] = b[0];
        net.Biases[0][1, 0] = b[1];
        byte[] data = new byte[24];
        for (int i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), w[i]);
        }

        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(16), b[0]);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(20), b[1]);
        // Format version 2's checksum, written from its definition: every metadata entry but the checksum (keys in
        // ordinal order, each key and value followed by a 0 byte), a 1 byte, then each tensor in name order: name, dtype,
        // shape ("2,2"), byte length — each followed by 0 — and the bytes.
        var canonical = new List<byte>();
        void Text(string value) => canonical.AddRange([.. Encoding.UTF8.GetBytes(value), 0]);
        foreach ((string key, string value) in new[] { ("activation", "relu"), ("architecture", "2-2"), ("dtype", "F32"), ("format", "mnistnet"), ("format_version", "2"), ("output", "softmax") })
        {
            Text(key);
            Text(value);
        }

        canonical.Add(1);
        foreach ((string name, string shape, byte[] bytes) in new[] { ("layers.0.bias", "2", data[16..]), ("layers.0.weight", "2,2", data[..16]) })
        {
            Text(name);
            Text("F32");
            Text(shape);
            Text(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            canonical.AddRange(bytes);
        }

        string checksum = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(canonical.ToArray()));
        string json = "{\"__metadata__\":{\"format\":\"mnistnet\",\"format_version\":\"2\",\"architecture\":\"2-2\",\"activation\":\"relu\",\"output\":\"softmax\",\"dtype\":\"F32\",\"checksum\":\"" + checksum + "\"},"
            + "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
            + "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}";
        byte[] header = Encoding.UTF8.GetBytes(json.PadRight((json.Length + 7) / 8 * 8));
        byte[] expected = [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. data];

        string path = Path.Combine(_folder, "tiny.safetensors");
        net.Save(path);
        Assert.Equal(expected, File.ReadAllBytes(path));
    }

    [Fact]
    public void Load_AFileWrittenByPythonsSafetensors_WithoutMnistNetMetadata()
    {
        // What `safetensors.numpy.save_file({"layers.0.weight": w, "layers.0.bias": b, …})` writes: sorted keys, no
        // __metadata__, header padded with spaces. Built by hand from the spec (Python's package is not installable here).
        var tensors = new List<(string Name, float[] Values, long[] Shape)>
        {
            ("layers.0.bias", [0.5f, -0.5f, 0f], [3]),
            ("layers.0.weight", [1, 2, 3, 4, 5, 6, 7, 8], [3, 4]), // placeholder, replaced below
            ("layers.1.bias", [1f, 2f], [2]),
            ("layers.1.weight", [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f], [2, 3]),
        };
        tensors[1] = ("layers.0.weight", [.. Enumerable.Range(0, 12).Select(i => i / 10f)], [3, 4]);
        var json = new StringBuilder("{");
        var data = new List<byte>();
        foreach ((string name, float[] values, long[] shape) in tensors)
        {
            int begin = data.Count;
            foreach (float v in values)
            {
                data.AddRange(BitConverter.GetBytes(v));
            }

            json.Append($"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{begin},{data.Count}]}},");
        }

        json.Length--;
        json.Append('}');
        byte[] header = Encoding.UTF8.GetBytes(json.ToString().PadRight((json.Length + 7) / 8 * 8));
        string path = Path.Combine(_folder, "python.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. data]);

        DenseNetwork<float> net = DenseNetwork<float>.Load(path);
        Assert.Equal("4-3-2", net.Architecture);
        Assert.Equal(0.7f, net.Weights[0][1, 3]);
        Assert.Equal(-0.5f, net.Biases[0][1, 0]);
        Assert.Equal(0.6f, net.Weights[1][1, 2]);
    }

    [Fact]
    public void FailedSave_LeavesThePreviousFileIntact_AndNoTemporaryFiles()
    {
        string path = Path.Combine(_folder, "keep.safetensors");
        var net = new DenseNetwork<float>([4, 3], seed: 1);
        net.Save(path);
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);
            throw new IOException("disk full (simulated)");
        }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_folder));
    }

    [Fact]
    public void SaveFailingAfterAnyNumberOfBytes_LeavesThePreviousFileIntact_AndNoTemporaryFile()
    {
        string path = Path.Combine(_folder, "model.safetensors");
        new DenseNetwork<float>([4, 3], seed: 1).Save(path);
        byte[] previous = File.ReadAllBytes(path);
        string other = Path.Combine(_folder, "other.safetensors");
        new DenseNetwork<float>([4, 3], seed: 2).Save(other);
        byte[] replacement = File.ReadAllBytes(other);
        File.Delete(other);

        // The write fails after n bytes, for every n from 0 to the whole file (the failure at the end is the flush).
        for (int n = 0; n <= replacement.Length; n++)
        {
            int limit = n;
            Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
            {
                var failing = new FailAfter(stream, limit);
                failing.Write(replacement);
                failing.Flush();
            }));
            Assert.Equal(previous, File.ReadAllBytes(path));
            Assert.Single(Directory.GetFileSystemEntries(_folder));
        }

        AtomicFile.Write(path, stream => stream.Write(replacement));
        Assert.Equal(replacement, File.ReadAllBytes(path));
    }

    /// <summary>A stream that takes <c>limit</c> bytes and then fails as a full disk does (and fails to flush at the limit).</summary>
    private sealed class FailAfter(Stream inner, int limit) : Stream
    {
        private int _written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _written;

        public override long Position
        {
            get => _written;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            int take = Math.Min(buffer.Length, limit - _written);
            inner.Write(buffer[..take]);
            _written += take;
            if (take < buffer.Length)
            {
                throw new IOException("No space left on device (simulated).");
            }
        }

        public override void Flush()
        {
            if (_written >= limit)
            {
                throw new IOException("No space left on device (simulated, at flush).");
            }

            inner.Flush();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Fact]
    public void SaveIntoMissingFolder_NamesTheUsersPath_NotATemporaryFile()
    {
        string path = Path.Combine(_folder, "missing", "model.safetensors");
        var net = new DenseNetwork<float>([4, 3], seed: 1);
        var error = Assert.Throws<DirectoryNotFoundException>(() => net.Save(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckWritable_AcceptsAWritablePath_LeavingNothingBehind_AndNamesEachProblem()
    {
        AtomicFile.CheckWritable(Path.Combine(_folder, "new.safetensors"));
        Assert.Empty(Directory.GetFileSystemEntries(_folder));

        string missing = Path.Combine(_folder, "no-such-folder", "m.safetensors");
        var noFolder = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.CheckWritable(missing));
        Assert.Contains(missing, noFolder.Message, StringComparison.Ordinal);

        var isFolder = Assert.Throws<IOException>(() => AtomicFile.CheckWritable(_folder));
        Assert.Contains("is a folder", isFolder.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_folder));
    }

    [Theory]
    [InlineData("\"checksum\"", "\"chdcksum\"", "has no checksum")]                 // the checksum key's name damaged
    [InlineData("\"format\":\"mnistnet\"", "\"formbt\":\"mnistnet\"", "format is missing")] // the format key's name damaged
    [InlineData("\"format_version\":\"2\"", "\"format_version\":\"1\"", "checksum does not match")] // downgraded to version 1
    public void MnistNetFile_WithItsIntegrityKeysDamaged_AndAWeightChanged_IsRefused(string from, string to, string expected)
    {
        string path = Path.Combine(_folder, "damaged.safetensors");
        new DenseNetwork<float>([4, 3], seed: 1).Save(path);
        byte[] bytes = File.ReadAllBytes(path);
        string text = Encoding.Latin1.GetString(bytes);
        Assert.Contains(from, text);
        bytes = Encoding.Latin1.GetBytes(text.Replace(from, to, StringComparison.Ordinal));
        bytes[^1] ^= 0x01;                                                     // and one bit of the last weight
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void TooManyOutputs_IsRefused_BeforeTheTensorsAreAllocated()
    {
        // 200 000 outputs (the limit is 65 536) from 1.6 MB of data: padded rows would take 25.6 MB if read first.
        const int rows = 200_000;
        string json = "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[" + rows + ",1],\"data_offsets\":[0," + (4 * rows) + "]},"
            + "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[" + rows + "],\"data_offsets\":[" + (4 * rows) + "," + (8 * rows) + "]}}";
        string path = Path.Combine(_folder, "tall.safetensors");
        WriteRaw(path, json, new byte[8 * rows]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("200000 outputs", error.Message);
        Assert.True(allocated < (8 * rows) + (4 << 20), $"allocated {allocated} bytes for a {8 * rows}-byte file");
    }

    [Fact]
    public void VersionOneFile_WithoutAChecksum_IsRefused_ButAForeignFileLoads()
    {
        string data = "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}";
        string v1 = Path.Combine(_folder, "v1.safetensors");
        WriteRaw(v1, "{\"__metadata__\":{\"format\":\"mnistnet\",\"format_version\":\"1\"}," + data + "}", new byte[24]);
        Assert.Contains("has no checksum", Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(v1)).Message);

        string foreign = Path.Combine(_folder, "torch.safetensors");
        WriteRaw(foreign, "{\"__metadata__\":{\"format\":\"pt\"}," + data + "}", new byte[24]);
        Assert.Equal(2, DenseNetwork<float>.Load(foreign).Outputs);
    }

    /// <summary>Writes a safetensors file from a JSON header (padded with spaces to a multiple of 8) and its data bytes.</summary>
    internal static void WriteRaw(string path, string json, byte[] data)
    {
        byte[] header = Encoding.UTF8.GetBytes(json.PadRight((json.Length + 7) / 8 * 8));
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. data]);
    }

    public static TheoryData<string, string> BadFiles() => new()
    {
        { "short", "8-byte" },
        { "huge-header", "at most 100000000" },
        { "header-past-end", "only" },
        { "not-utf8", "UTF-8" },
        { "not-json", "not valid JSON" },
        { "array", "JSON object" },
        { "duplicate", "twice" },
        { "gap", "a gap" },
        { "overlap", "overlaps it" },
        { "size-mismatch", "takes 16 bytes" },
        { "trailing", "the file holds" },
        { "unknown-dtype", "unknown dtype" },
        { "checksum", "checksum does not match" },
        { "no-checksum", "has no checksum" },
        { "changed-metadata", "checksum does not match" },
        { "architecture", "architecture" },
        { "no-bias", "has no layers.0.bias" },
        { "version", "format_version" },
        { "not-a-model", "not a MnistNet model" },
        { "int-dtype", "expected F32 or F64" },
        { "chain", "outputs" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Load_BadFile_ThrowsInvalidDataNamingTheProblem(string kind, string expected)
    {
        string path = Path.Combine(_folder, kind + ".safetensors");
        File.WriteAllBytes(path, MakeBad(kind));
        InvalidDataException ex = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path));
        Assert.Contains(expected, ex.Message);
        Assert.Contains(path, ex.Message);
        Assert.Equal(path, ex.Data["MnistNet.Source"]);
        Assert.IsType<long>(ex.Data["MnistNet.Offset"]);                   // every model-file error says where
        Assert.InRange((long)ex.Data["MnistNet.Offset"]!, 0, new FileInfo(path).Length);
    }

    [Property(Arbitrary = [typeof(MutationGenerators)], MaxTest = 300)]
    public void Load_MutatedFile_LoadsOrThrowsInvalidData(Mutation mutation)
    {
        var original = new DenseNetwork<float>([6, 4, 3], seed: 2);
        byte[] valid = SafeTensorsBytes(original);
        byte[] bad = mutation.Apply(valid);
        string path = Path.Combine(_folder, $"mutated-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bad);
        DenseNetwork<float> net;
        try
        {
            net = DenseNetwork<float>.Load(path);
        }
        catch (InvalidDataException)
        {
            return;
        }

        // A mutated file that loads must be the same model: a change that reaches the numbers must be refused.
        Assert.Equal(original.Architecture, net.Architecture);
        TrainerTests.AssertSameParameters(original, net);
    }

    private byte[] SafeTensorsBytes(DenseNetwork<float> net)
    {
        string path = Path.Combine(_folder, $"valid-{Guid.NewGuid():N}.safetensors");
        net.Save(path);
        byte[] bytes = File.ReadAllBytes(path);
        File.Delete(path);
        return bytes;
    }

    private static byte[] File8(string json, byte[] data)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        return [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. data];
    }

    private byte[] MakeBad(string kind)
    {
        const string W = "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}";
        const string B = "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}";
        byte[] data = new byte[24];
        switch (kind)
        {
            case "short":
                return [1, 2, 3];
            case "huge-header":
                return BitConverter.GetBytes(200_000_000UL);
            case "header-past-end":
                return [.. BitConverter.GetBytes(50UL), .. "{}"u8];
            case "not-utf8":
                return [.. BitConverter.GetBytes(4UL), 0x7B, 0xFF, 0xFE, 0x7D];
            case "not-json":
                return File8("{\"a\":", []);
            case "array":
                return File8("[1,2]", []);
            case "duplicate":
                return File8("{" + W + "," + W.Replace("[0,16]", "[16,32]") + "}", new byte[32]);
            case "overlap":
                return File8("{" + W + "," + B.Replace("[16,24]", "[8,16]") + "}", new byte[16]);
            case "gap":
                return File8("{" + W.Replace("[0,16]", "[4,20]") + "}", new byte[20]);
            case "size-mismatch":
                return File8("{" + W.Replace("[0,16]", "[0,12]") + "}", new byte[12]);
            case "trailing":
                return File8("{" + W + "," + B + "}", new byte[30]);
            case "unknown-dtype":
                return File8("{" + W.Replace("F32", "Q7") + "}", new byte[16]);
            case "no-checksum":
                return File8("{\"__metadata__\":{\"format\":\"mnistnet\",\"format_version\":\"2\"}," + W + "," + B + "}", data);
            case "changed-metadata":
                {
                    // A valid file whose architecture text was edited afterwards (the checksum now covers metadata).
                    string valid = Path.Combine(_folder, $"valid-{Guid.NewGuid():N}.safetensors");
                    new DenseNetwork<float>([2, 2], seed: 1).Save(valid);
                    byte[] bytes = File.ReadAllBytes(valid);
                    File.Delete(valid);
                    int at = Encoding.UTF8.GetString(bytes).IndexOf("\"relu\"", StringComparison.Ordinal);
                    bytes[at + 1] = (byte)'R';
                    return bytes;
                }

            case "checksum":
                return File8("{\"__metadata__\":{\"checksum\":\"sha256:00\"}," + W + "," + B + "}", data);
            case "architecture":
                return File8("{\"__metadata__\":{\"architecture\":\"2-3\"}," + W + "," + B + "}", data);
            case "no-bias":
                return File8("{" + W + "}", new byte[16]);
            case "version":
                return File8("{\"__metadata__\":{\"format_version\":\"3\"}," + W + "," + B + "}", data);
            case "not-a-model":
                return File8("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]);
            case "int-dtype":
                return File8("{" + W.Replace("F32", "I32") + "," + B + "}", data);
            default:
                const string W1 = "\"layers.1.weight\":{\"dtype\":\"F32\",\"shape\":[1,3],\"data_offsets\":[24,36]}";
                const string B1 = "\"layers.1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[36,40]}";
                return File8("{" + W + "," + B + "," + W1 + "," + B1 + "}", new byte[40]);
        }
    }

    public sealed record Mutation(int Kind, int Position, byte Value, int Count)
    {
        public byte[] Apply(byte[] valid)
        {
            int at = Position % (valid.Length + 1);
            return Kind switch
            {
                0 => valid[..Math.Min(at, valid.Length)],
                1 => Replace(valid, Math.Min(at, valid.Length - 1), Value),
                2 => [.. valid[..at], .. Enumerable.Repeat(Value, Count), .. valid[at..]],
                3 => [.. valid, .. Enumerable.Repeat(Value, Count)],
                _ => Flip(valid, Math.Min(at, valid.Length - 1)),
            };
        }

        private static byte[] Replace(byte[] bytes, int at, byte value)
        {
            byte[] copy = (byte[])bytes.Clone();
            copy[at] = value;
            return copy;
        }

        private static byte[] Flip(byte[] bytes, int at)
        {
            byte[] copy = (byte[])bytes.Clone();
            copy[at] ^= 0x10;
            return copy;
        }
    }

    public static class MutationGenerators
    {
        public static Arbitrary<Mutation> Mutations() =>
            (from kind in Gen.Choose(0, 4)
             from position in Gen.Choose(0, 100_000)
             from value in Gen.Choose(0, 255)
             from count in Gen.Choose(1, 40)
             select new Mutation(kind, position, (byte)value, count)).ToArbitrary();
    }
}
