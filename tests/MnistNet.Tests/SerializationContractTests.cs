using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Serialization;
using MnistNet.Training;

namespace MnistNet.Tests;

/// <summary>
/// The model-file, checkpoint and atomic-write contracts, case by case: each argument check, each header rule at its
/// boundary, each message and offset. Written against the mutation run's survivors (tests/MnistNet.MutationTests): every
/// test here failed on at least one changed line of src/MnistNet/Serialization.
/// </summary>
public sealed class SerializationContractTests : IDisposable
{
    private const string W = "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}";
    private const string B = "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}";
    private static readonly Dataset Train = DenseNetworkTests.SyntheticDigits(300, seed: 5);
    private static readonly Dataset Dev = DenseNetworkTests.SyntheticDigits(100, seed: 6);
    private static readonly TrainingOptions Options = new() { Epochs = 2, BatchSize = 100, Seed = 3, EarlyStoppingPatience = 3 };
    private readonly string _folder = Directory.CreateTempSubdirectory("mnistnet-contract-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // ---- AtomicFile -------------------------------------------------------------------------------------------------

    [Fact]
    public void AtomicFile_ChecksItsArguments()
    {
        string path = Path.Combine(_folder, "f.bin");
        Assert.Equal("path", Assert.Throws<ArgumentNullException>(() => AtomicFile.Write(null!, _ => { })).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => AtomicFile.Write("", _ => { })).ParamName);
        Assert.Equal("write", Assert.Throws<ArgumentNullException>(() => AtomicFile.Write(path, null!)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => AtomicFile.CheckWritable("")).ParamName);
        Assert.Empty(Directory.GetFileSystemEntries(_folder));
    }

    [Fact]
    public void AtomicFile_WriterThatThrows_ItsExceptionPropagates_ThePreviousFileStays_NoTemporaryFileIsLeft()
    {
        string path = Path.Combine(_folder, "f.bin");
        File.WriteAllBytes(path, [1, 2, 3]);
        var error = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write([9, 9, 9, 9]);
            throw new InvalidOperationException("the writer gave up");
        }));
        Assert.Equal("the writer gave up", error.Message);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_folder));

        AtomicFile.Write(path, stream => stream.Write([4, 5]));
        Assert.Equal([4, 5], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_folder));
    }

    [Fact]
    public void AtomicFile_MissingFolder_SaysSo_NamingThePathAndTheFolder()
    {
        string folder = Path.Combine(_folder, "missing");
        string path = Path.Combine(folder, "f.bin");
        var write = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.Write(path, stream => stream.WriteByte(1)));
        Assert.Equal($"Cannot write '{path}': the folder does not exist.", write.Message);
        var check = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.CheckWritable(path));
        Assert.Equal($"Cannot write '{path}': the folder '{folder}' does not exist.", check.Message);
    }

    [Fact]
    public void AtomicFile_FolderThatTakesNoFiles_IsRefused_SayingWhy_NamingThePath()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Uses Linux's /proc and /sys.");

        // /proc takes no new files (ENOENT): the message must not blame a missing folder.
        const string proc = "/proc/mnistnet-test.safetensors";
        var check = Assert.Throws<IOException>(() => AtomicFile.CheckWritable(proc));
        Assert.Equal($"Cannot write '{proc}': the folder does not take new files (a virtual or read-only file system?).", check.Message);
        var write = Assert.Throws<IOException>(() => AtomicFile.Write(proc, stream => stream.WriteByte(1)));
        Assert.Equal(check.Message, write.Message);

        // /sys refuses with EACCES (or, mounted read-only in a container, EROFS): either way the path is named.
        const string sys = "/sys/mnistnet-test.safetensors";
        Exception denied = Assert.ThrowsAny<Exception>(() => AtomicFile.CheckWritable(sys));
        if (denied is UnauthorizedAccessException)
        {
            Assert.Equal($"Cannot write '{sys}': access is denied.", denied.Message);
        }
        else
        {
            Assert.IsAssignableFrom<IOException>(denied);
            Assert.StartsWith($"Cannot write '{sys}': ", denied.Message, StringComparison.Ordinal);
        }
    }

    // ---- Model files ------------------------------------------------------------------------------------------------

    [Fact]
    public void ModelFile_ChecksItsArguments()
    {
        string path = Path.Combine(_folder, "m.safetensors");
        var net = new DenseNetwork<float>([2, 2], seed: 1);
        Assert.Equal("network", Assert.Throws<ArgumentNullException>(() => ModelFile.Save<float>(null!, path)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => ModelFile.Save(net, "")).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => DenseNetwork<float>.Load("")).ParamName);
        var folder = Assert.Throws<FileNotFoundException>(() => DenseNetwork<float>.Load(_folder));
        Assert.Equal($"'{_folder}' is a folder; expected a file.", folder.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_folder));
    }

    [Theory]
    [InlineData("format")]
    [InlineData("format_version")]
    [InlineData("architecture")]
    [InlineData("activation")]
    [InlineData("output")]
    [InlineData("dtype")]
    [InlineData("checksum")]
    [InlineData("mnistnet.kind")]
    public void ModelFile_ReservedMetadataKey_IsRefused_NamingIt(string key)
    {
        string path = Path.Combine(_folder, "m.safetensors");
        var error = Assert.Throws<ArgumentException>(() => ModelFile.Save(new DenseNetwork<float>([2, 2], seed: 1), path, new Dictionary<string, string> { [key] = "x" }));
        Assert.StartsWith($"The metadata key \"{key}\" is reserved by MnistNet.", error.Message, StringComparison.Ordinal);
        Assert.Equal("metadata", error.ParamName);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void ModelFile_UsersOwnMetadata_IsStored_AsReadableUtf8()
    {
        string path = Path.Combine(_folder, "m.safetensors");
        var metadata = new Dictionary<string, string> { ["author"] = "Zoë ✓", ["mnistnetx"] = "<&>", ["formats"] = "1" };
        ModelFile.Save(new DenseNetwork<float>([2, 2], seed: 1), path, metadata);
        IReadOnlyDictionary<string, string> read = ModelFile.ReadMetadata(path);
        foreach ((string key, string value) in metadata)
        {
            Assert.Equal(value, read[key]);
        }

        // The header is plain UTF-8 JSON a person can read (as Python's safetensors writes it), not \u escapes.
        string header = HeaderText(File.ReadAllBytes(path));
        Assert.Contains("\"author\":\"Zoë ✓\"", header, StringComparison.Ordinal);
        Assert.Contains("\"mnistnetx\":\"<&>\"", header, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("3")]
    [InlineData("-1")]
    [InlineData("two")]
    public void ModelFile_UnsupportedFormatVersion_IsRefusedAsSuch(string version)
    {
        string path = Path.Combine(_folder, "m.safetensors");
        new DenseNetwork<float>([2, 2], seed: 1).Save(path);
        RewrittenFiles.EditMetadata(path, meta => meta["format_version"] = version);
        var error = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path));
        Assert.Contains($"format_version \"{version}\" is not supported; this MnistNet reads versions 1 to 2.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelFile_ArchitectureThatDisagreesWithTheTensors_IsRefused_EvenWithAValidChecksum()
    {
        string path = Path.Combine(_folder, "m.safetensors");
        new DenseNetwork<float>([4, 3, 2], seed: 1).Save(path);
        RewrittenFiles.EditMetadata(path, meta => meta["architecture"] = "4-5-2");
        var error = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path));
        Assert.Contains("the metadata says architecture 4-5-2, but the tensors make 4-3-2.", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> MarkedFiles() => new()
    {
        // Any one of MnistNet's own keys makes the file MnistNet's: it then needs format = mnistnet, a version and a checksum.
        { "\"format\":\"mnistnet\"", "the file says it is MnistNet's but has no valid format_version" },
        { "\"format_version\":\"2\"", "the file has MnistNet's key \"format_version\" but its format is missing" },
        { "\"architecture\":\"2-2\"", "the file has MnistNet's key \"architecture\" but its format is missing" },
        { "\"format\":\"pt\",\"architecture\":\"2-2\"", "the file has MnistNet's key \"architecture\" but its format is \"pt\"" },
        { "\"mnistnet.kind\":\"model\"", "the file has MnistNet's key \"mnistnet.kind\" but its format is missing" },
        { "\"format\":\"mnistnet\",\"format_version\":\"2\"", "format version 2 but has no checksum" },
    };

    [Theory]
    [MemberData(nameof(MarkedFiles))]
    public void ModelFile_MarkedAsMnistNets_WithoutItsIntegrityKeys_IsRefused(string metadata, string expected)
    {
        string path = Path.Combine(_folder, "marked.safetensors");
        ModelFileTests.WriteRaw(path, "{\"__metadata__\":{" + metadata + "}," + W + "," + B + "}", new byte[24]);
        var error = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelFile_VersionOneFile_WithItsBytesChecksum_Loads_AndAWrongOneIsRefused()
    {
        byte[] data = new byte[24];
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), 1.5f);
        string checksum = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data));
        string path = Path.Combine(_folder, "v1.safetensors");
        ModelFileTests.WriteRaw(path, "{\"__metadata__\":{\"format\":\"mnistnet\",\"format_version\":\"1\",\"checksum\":\"" + checksum + "\"}," + W + "," + B + "}", data);
        Assert.Equal(1.5f, DenseNetwork<float>.Load(path).Parameters[0].Value[0, 1]);

        data[0] ^= 1;
        ModelFileTests.WriteRaw(path, "{\"__metadata__\":{\"format\":\"mnistnet\",\"format_version\":\"1\",\"checksum\":\"" + checksum + "\"}," + W + "," + B + "}", data);
        Assert.Contains("the tensor bytes hash to", Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path)).Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> BadLayers() => new()
    {
        { "[4]", "[2]", "layers.0.weight must be a non-empty matrix, found shape [4]." },
        { "[0,2]", "[0]", "layers.0.weight must be a non-empty matrix, found shape [0, 2]." },
        { "[2,0]", "[2]", "layers.0.weight must be a non-empty matrix, found shape [2, 0]." },
        { "[2,2]", "[3]", "layers.0.bias must have shape [2], found [3]." },
        { "[2,2]", "[2,1]", "layers.0.bias must have shape [2], found [2, 1]." },
    };

    [Theory]
    [MemberData(nameof(BadLayers))]
    public void ModelFile_LayerOfTheWrongShape_IsRefused_NamingTheTensorAndShape(string weightShape, string biasShape, string expected)
    {
        long Count(string shape) => shape.Trim('[', ']').Split(',').Aggregate(1L, (a, d) => a * long.Parse(d, System.Globalization.CultureInfo.InvariantCulture));
        long w = 4 * Count(weightShape), b = 4 * Count(biasShape);
        string json = "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":" + weightShape + ",\"data_offsets\":[0," + w + "]},"
            + "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":" + biasShape + ",\"data_offsets\":[" + w + "," + (w + b) + "]}}";
        string path = Path.Combine(_folder, "layer.safetensors");
        ModelFileTests.WriteRaw(path, json, new byte[w + b]);
        var error = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelFile_BrokenLayerChain_NamesBothLayers()
    {
        const string W1 = "\"layers.1.weight\":{\"dtype\":\"F32\",\"shape\":[1,3],\"data_offsets\":[24,36]}";
        const string B1 = "\"layers.1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[36,40]}";
        string path = Path.Combine(_folder, "chain.safetensors");
        ModelFileTests.WriteRaw(path, "{" + W + "," + B + "," + W1 + "," + B1 + "}", new byte[40]);
        var error = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path));
        Assert.Contains("layers.1.weight has 3 columns, but layer 0 has 2 outputs.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelFile_65536Outputs_Load_65537AreRefused()
    {
        Assert.Equal(65_536, DenseNetwork<float>.Load(TallModel(65_536)).Outputs);
        var error = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(TallModel(65_537)));
        Assert.Contains("the last layer has 65537 outputs; at most 65 536 are supported.", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The memory bound at its edge: a one-byte-per-element (U8) layer of 65 536 rows × c columns, plus its U8 bias, has
    /// 65 536·(c + 1) bytes of data, and as float32 rows padded to 64 bytes needs 2 × 65 536 × 64 = 8 MiB; the bound is
    /// 16 × data + 1 MiB. c = 6 meets it exactly (accepted, then refused for its dtype); c = 5 is over it.
    /// </summary>
    [Fact]
    public void ModelFile_MemoryBound_AcceptsExactlySixteenTimesTheDataPlusOneMebibyte()
    {
        var atBound = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(NarrowModel(columns: 6)));
        Assert.Contains("has dtype U8; expected F32 or F64.", atBound.Message, StringComparison.Ordinal);

        var over = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(NarrowModel(columns: 5)));
        Assert.Contains("the tensors of 5-65536 would need 8388608 bytes of memory for 393216 bytes of data", over.Message, StringComparison.Ordinal);

        // The bound is on all layers together: 1 → 12 800 → 1 in U8 (38 401 bytes, so 1 662 992 allowed) needs 1 638 400
        // bytes for its first layer and 51 264 for its second: each fits alone, together they do not.
        var sum = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(TwoNarrowLayers()));
        Assert.Contains("the tensors of 1-12800-1 would need 1689664 bytes of memory for 38401 bytes of data", sum.Message, StringComparison.Ordinal);
    }

    // ---- safetensors headers ----------------------------------------------------------------------------------------

    public static TheoryData<string, int> DTypes() => new()
    {
        { "BOOL", 1 }, { "U8", 1 }, { "I8", 1 }, { "F8_E5M2", 1 }, { "F8_E4M3", 1 },
        { "I16", 2 }, { "U16", 2 }, { "F16", 2 }, { "BF16", 2 },
        { "I32", 4 }, { "U32", 4 }, { "F32", 4 },
        { "I64", 8 }, { "U64", 8 }, { "F64", 8 },
    };

    [Theory]
    [MemberData(nameof(DTypes))]
    public void SafeTensors_EveryDTypeOfTheSpec_IsReadWithItsSize(string dtype, int size)
    {
        // A model with one more tensor of that dtype (another tool's extra data): the file loads; one byte short, it is refused.
        string extra = ",\"extra\":{\"dtype\":\"" + dtype + "\",\"shape\":[3],\"data_offsets\":[24," + (24 + (3 * size)) + "]}";
        string path = Path.Combine(_folder, dtype + ".safetensors");
        ModelFileTests.WriteRaw(path, "{" + W + "," + B + extra + "}", new byte[24 + (3 * size)]);
        Assert.Equal(2, DenseNetwork<float>.Load(path).Outputs);

        string shortPath = Path.Combine(_folder, dtype + "-short.safetensors");
        string shortExtra = ",\"extra\":{\"dtype\":\"" + dtype + "\",\"shape\":[3],\"data_offsets\":[24," + (24 + (3 * size) - 1) + "]}";
        ModelFileTests.WriteRaw(shortPath, "{" + W + "," + B + shortExtra + "}", new byte[24 + (3 * size) - 1]);
        var error = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(shortPath));
        Assert.Contains($"a {dtype} tensor of shape [3] takes {3 * size} bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SafeTensors_ErrorOffsets_PointAtTheBadByte()
    {
        // Invalid UTF-8 at header byte 1 (file offset 9).
        Assert.Equal(9L, Offset(File8([.. BitConverter.GetBytes(4UL), 0x7B, 0xFF, 0xFE, 0x7D])));

        // Invalid JSON: where System.Text.Json stops, from the start of the file.
        const string broken = "{\"a\":[1,2}";
        long expected = 8 + JsonStop(broken.PadRight(16));
        Assert.True(expected > 8);
        Assert.Equal(expected, Offset(File8(Header(broken))));

        // A tensor of the wrong dtype: its own data, not the start of the data section.
        string json = "{" + W + "," + B.Replace("F32", "I32", StringComparison.Ordinal) + "}";
        byte[] file = Header(json);
        long dataStart = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(dataStart + 16, Offset(File8([.. file, .. new byte[24]])));
    }

    [Fact]
    public void SafeTensors_HeaderOfExactlyTheMaximumLength_IsNotRefusedForItsLength()
    {
        byte[] exactly = BitConverter.GetBytes((ulong)SafeTensors.MaxHeaderBytes);
        Assert.Contains("but only 0 bytes follow it", Message(File8(exactly)), StringComparison.Ordinal);
        byte[] over = BitConverter.GetBytes((ulong)SafeTensors.MaxHeaderBytes + 1);
        Assert.Contains($"at most {SafeTensors.MaxHeaderBytes} are allowed", Message(File8(over)), StringComparison.Ordinal);
        Assert.Contains("the header length is 50 bytes, but only 2 bytes follow it.", Message(File8([.. BitConverter.GetBytes(50UL), .. "{}"u8])), StringComparison.Ordinal);
        Assert.Contains("the header length is 5 bytes, but only 2 bytes follow it.", Message(File8([.. BitConverter.GetBytes(5UL), .. "{}"u8])), StringComparison.Ordinal);
    }

    [Fact]
    public void SafeTensors_FileLargerThanAnArray_IsRefusedBeforeReading()
    {
        // A sparse file one byte over the largest array: refused from its length, nothing read or allocated.
        string path = Path.Combine(_folder, "huge.safetensors");
        using (var stream = new FileStream(path, FileMode.CreateNew))
        {
            stream.SetLength(Array.MaxLength + 1L);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < (1 << 20));
        Assert.Contains($"the file is {Array.MaxLength + 1L} bytes; model files larger than {Array.MaxLength} bytes are not supported.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SafeTensors_HeaderNestedDeeperThanSixteen_IsRefusedAsJson()
    {
        static string Nested(int depth) => "{\"a\":" + new string('[', depth - 1) + new string(']', depth - 1) + "}";
        Assert.Contains("not valid JSON", Message(File8(Header(Nested(17)))), StringComparison.Ordinal);
        Assert.Contains("tensor \"a\" must be an object", Message(File8(Header(Nested(16)))), StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadHeaders() => new()
    {
        { "{\"__metadata__\":[1]}", "__metadata__ must be an object of strings, found Array." },
        { "{\"__metadata__\":{\"a\":1}}", "__metadata__ entry \"a\" must be a string, found Number." },
        { "{\"w\":5}", "tensor \"w\" must be an object with dtype, shape and data_offsets, found Number." },
        { "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor \"w\" has no string \"dtype\"." },
        { "{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor \"w\" has no string \"dtype\"." },
        { "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "tensor \"w\" has no array \"shape\"." },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", "tensor \"w\" has no array \"data_offsets\"." },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", "tensor \"w\": \"data_offsets\" has 3 entries, expected 2." },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[" + string.Join(',', Enumerable.Repeat(1, 65)) + "],\"data_offsets\":[0,4]}}", "tensor \"w\": \"shape\" has 65 entries, expected at most 64." },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "tensor \"w\": \"shape\" entry 0 must be a non-negative integer, found -1." },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,\"4\"]}}", "tensor \"w\": \"data_offsets\" entry 1 must be a non-negative integer, found \"4\"." },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", "tensor \"w\" has a shape [4294967296, 4294967296] too large to store." },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", "tensor \"w\" has data_offsets [4, 0], which end before they begin." },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void SafeTensors_BadHeader_IsRefused_SayingWhat(string json, string expected)
    {
        string path = Path.Combine(_folder, "bad.safetensors");
        File.WriteAllBytes(path, [.. Header(json), .. new byte[8]]);
        var error = Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Equal(8L, error.Data["MnistNet.Offset"]);
    }

    [Fact]
    public void SafeTensors_WithoutMetadata_WritesNoMetadataEntry()
    {
        byte[] none = SafeTensors.Serialize(new Dictionary<string, string>(), [("t", "F32", new long[] { 1 }, new byte[4])]);
        Assert.DoesNotContain("__metadata__", HeaderText(none), StringComparison.Ordinal);
        byte[] some = SafeTensors.Serialize(new Dictionary<string, string> { ["k"] = "v" }, [("t", "F32", new long[] { 1 }, new byte[4])]);
        Assert.Contains("\"__metadata__\":{\"k\":\"v\"}", HeaderText(some), StringComparison.Ordinal);
    }

    // ---- Checkpoints ------------------------------------------------------------------------------------------------

    [Fact]
    public void Checkpoint_ChecksItsArguments()
    {
        string path = Path.Combine(_folder, "c.ckpt");
        Assert.Equal("trainer", Assert.Throws<ArgumentNullException>(() => Checkpoint.Save<float>(null!, path)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => NewTrainer().SaveCheckpoint("")).ParamName);
        NewTrainer().SaveCheckpoint(path);
        Assert.Equal("options", Assert.Throws<ArgumentNullException>(() => Checkpoint.Load<float>(path, null!)).ParamName);
    }

    [Fact]
    public void Checkpoint_KeepsTheEarlyStoppingBest_AndItsPosition()
    {
        Trainer<float> trainer = NewTrainer();
        trainer.Fit(Train, Dev, TestContext.Current.CancellationToken);
        Assert.NotNull(trainer.State.Best);
        string path = Path.Combine(_folder, "c.ckpt");
        trainer.SaveCheckpoint(path);

        Trainer<float> resumed = Trainer<float>.Resume(path, Options);
        Assert.NotNull(resumed.State.Best);
        for (int p = 0; p < trainer.State.Best!.Length; p++)
        {
            Assert.True(TestData.SameBits(trainer.State.Best[p], resumed.State.Best![p]), $"best.{p}");
        }

        Assert.Equal(trainer.State.Epoch, resumed.State.Epoch);
        Assert.Equal(trainer.State.BestEpoch, resumed.State.BestEpoch);
        Assert.Equal(trainer.State.BestLoss, resumed.State.BestLoss);
        Assert.Equal(300, resumed.State.TrainCount);

        // Without early stopping there is no best copy, and none is restored.
        var plain = new Trainer<float>(new DenseNetwork<float>([784, 6, 10], seed: 1), new Adam<float>(0.01), new TrainingOptions { Epochs = 2, BatchSize = 100, Seed = 3 });
        plain.Fit(Train, Dev, TestContext.Current.CancellationToken);
        plain.SaveCheckpoint(path);
        Assert.Null(Trainer<float>.Resume(path, Options).State.Best);
    }

    [Fact]
    public void Checkpoint_StoresItsNumbersAsShortestRoundTripText()
    {
        Trainer<float> trainer = NewTrainer();
        trainer.Fit(Train, Dev, TestContext.Current.CancellationToken);
        string path = Path.Combine(_folder, "c.ckpt");
        trainer.SaveCheckpoint(path);
        IReadOnlyDictionary<string, string> meta = ModelFile.ReadMetadata(path);
        Assert.Equal("0.01", meta["mnistnet.learning_rate"]);
        Assert.Equal(trainer.State.BestLoss, double.Parse(meta["mnistnet.best_loss"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("300", meta["mnistnet.train_count"]);
        Assert.Equal("checkpoint", meta["mnistnet.kind"]);
    }

    public static TheoryData<string[], string> EditedCheckpoints() => new()
    {
        { ["best_epoch", "5"], "the checkpoint's mnistnet.best_epoch is 5, after its epoch 2." },
        { ["best_epoch", "2", "bad_epochs", "5"], "the checkpoint's mnistnet.bad_epochs is 5, after its epoch 2." },
        { ["steps", "-1"], "the checkpoint's mnistnet.steps is -1; expected a value ≥ 0." },
        { ["optimizer_steps", "-5"], "the checkpoint's mnistnet.optimizer_steps is -5; expected a value ≥ 0." },
        { ["kind", "model"], "not a MnistNet checkpoint (no mnistnet.kind = checkpoint in the metadata)" },
        { ["learning_rate", "fast"], "the checkpoint's metadata has no number mnistnet.learning_rate." },
        { ["optimizer", "adamw2"], "the checkpoint's optimizer \"adamw2\" is unknown; known: " },
        { ["optimizer.beta1", "high"], "the checkpoint's optimizer settings are not valid: " },
        { ["optimizer.beta1", "1.5"], "the checkpoint's optimizer settings are out of range: " },
    };

    [Theory]
    [MemberData(nameof(EditedCheckpoints))]
    public void Checkpoint_EditedWithAValidChecksum_IsRefused_NamingTheFieldAndValue(string[] edits, string expected)
    {
        string path = SavedCheckpoint();
        RewrittenFiles.EditMetadata(path, meta =>
        {
            for (int i = 0; i < edits.Length; i += 2)
            {
                Assert.True(meta.ContainsKey("mnistnet." + edits[i]), edits[i]);
                meta["mnistnet." + edits[i]] = edits[i + 1];
            }
        });
        var error = Assert.Throws<InvalidDataException>(() => Trainer<float>.Resume(path, Options));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Checkpoint_MissingFieldsAndTensors_AreNamed()
    {
        string path = SavedCheckpoint();
        RewrittenFiles.EditMetadata(path, meta => meta.Remove("mnistnet.optimizer"));
        Assert.Contains("the checkpoint names no optimizer.", Assert.Throws<InvalidDataException>(() => Trainer<float>.Resume(path, Options)).Message, StringComparison.Ordinal);

        path = SavedCheckpoint();
        RewrittenFiles.Edit(path, _ => { }, tensors => tensors.RemoveAll(t => t.Name == "optimizer.1.2"));
        Assert.Contains("the checkpoint has no tensor \"optimizer.1.2\".", Assert.Throws<InvalidDataException>(() => Trainer<float>.Resume(path, Options)).Message, StringComparison.Ordinal);

        // An optimizer-state tensor of the wrong shape: one dimension off, then the other, then the rank.
        foreach (long[] shape in new long[][] { [10, 7], [11, 6], [60] })
        {
            path = SavedCheckpoint();
            RewrittenFiles.Edit(path, _ => { }, tensors =>
            {
                int at = tensors.FindIndex(t => t.Name == "optimizer.0.2");
                (string name, string dtype, long[] old, byte[] data) = tensors[at];
                Assert.Equal([10, 6], old);
                tensors[at] = (name, dtype, shape, new byte[shape.Aggregate(4L, (a, d) => a * d)]);
            });
            var error = Assert.Throws<InvalidDataException>(() => Trainer<float>.Resume(path, Options));
            Assert.Contains($"tensor \"optimizer.0.2\" must have shape [10, 6], found [{string.Join(", ", shape)}].", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Checkpoint_EdgeValuesThatAreValid_Load()
    {
        // A file from before train_count was written resumes with the count unknown (0), as 0.2's files do.
        string path = SavedCheckpoint();
        RewrittenFiles.EditMetadata(path, meta => Assert.True(meta.Remove("mnistnet.train_count")));
        Assert.Equal(0, Trainer<float>.Resume(path, Options).State.TrainCount);

        // A best loss of exactly 0 is a loss.
        path = SavedCheckpoint();
        RewrittenFiles.EditMetadata(path, meta => meta["mnistnet.best_loss"] = "0");
        Assert.Equal(0.0, Trainer<float>.Resume(path, Options).State.BestLoss);
    }

    [Fact]
    public void Checkpoint_WithOtherSeedOrBatchSize_IsRefused_SayingBoth()
    {
        string path = SavedCheckpoint();
        var error = Assert.Throws<ArgumentException>(() => Trainer<float>.Resume(path, new TrainingOptions { Epochs = 2, BatchSize = 100, Seed = 9 }));
        Assert.StartsWith("The checkpoint was made with seed 3 and batch size 100; resume with the same (got seed 9, batch size 100).", error.Message, StringComparison.Ordinal);
        Assert.Equal("options", error.ParamName);
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------

    private static Trainer<float> NewTrainer() =>
        new(new DenseNetwork<float>([784, 6, 10], seed: 1), new Adam<float>(0.01), Options);

    private string SavedCheckpoint()
    {
        Trainer<float> trainer = NewTrainer();
        trainer.Fit(Train, Dev, TestContext.Current.CancellationToken);
        string path = Path.Combine(_folder, $"c-{Guid.NewGuid():N}.ckpt");
        trainer.SaveCheckpoint(path);
        return path;
    }

    private string TallModel(int outputs)
    {
        string json = "{\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[" + outputs + ",1],\"data_offsets\":[0," + (4 * outputs) + "]},"
            + "\"layers.0.bias\":{\"dtype\":\"F32\",\"shape\":[" + outputs + "],\"data_offsets\":[" + (4 * outputs) + "," + (8 * outputs) + "]}}";
        string path = Path.Combine(_folder, $"tall-{outputs}.safetensors");
        ModelFileTests.WriteRaw(path, json, new byte[8 * outputs]);
        return path;
    }

    private string NarrowModel(int columns)
    {
        const int rows = 65_536;
        long w = (long)rows * columns;
        string json = "{\"layers.0.weight\":{\"dtype\":\"U8\",\"shape\":[" + rows + "," + columns + "],\"data_offsets\":[0," + w + "]},"
            + "\"layers.0.bias\":{\"dtype\":\"U8\",\"shape\":[" + rows + "],\"data_offsets\":[" + w + "," + (w + rows) + "]}}";
        string path = Path.Combine(_folder, $"narrow-{columns}.safetensors");
        ModelFileTests.WriteRaw(path, json, new byte[w + rows]);
        return path;
    }

    /// <summary>A 1 → 12 800 → 1 network stored as U8 (see the memory-bound test).</summary>
    private string TwoNarrowLayers()
    {
        const int hidden = 12_800;
        string json = "{\"layers.0.weight\":{\"dtype\":\"U8\",\"shape\":[" + hidden + ",1],\"data_offsets\":[0," + hidden + "]},"
            + "\"layers.0.bias\":{\"dtype\":\"U8\",\"shape\":[" + hidden + "],\"data_offsets\":[" + hidden + "," + (2 * hidden) + "]},"
            + "\"layers.1.weight\":{\"dtype\":\"U8\",\"shape\":[1," + hidden + "],\"data_offsets\":[" + (2 * hidden) + "," + (3 * hidden) + "]},"
            + "\"layers.1.bias\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[" + (3 * hidden) + "," + ((3 * hidden) + 1) + "]}}";
        string path = Path.Combine(_folder, "two-narrow.safetensors");
        ModelFileTests.WriteRaw(path, json, new byte[(3 * hidden) + 1]);
        return path;
    }

    /// <summary>The 8-byte length and the JSON header, padded with spaces to a multiple of 8.</summary>
    private static byte[] Header(string json)
    {
        byte[] header = Encoding.UTF8.GetBytes(json.PadRight((json.Length + 7) / 8 * 8));
        return [.. BitConverter.GetBytes((ulong)header.Length), .. header];
    }

    private static string HeaderText(byte[] file) => Encoding.UTF8.GetString(file, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(file));

    private static long JsonStop(string json)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            return ex.BytePositionInLine ?? -1;
        }

        throw new InvalidOperationException("expected invalid JSON");
    }

    private string File8(byte[] bytes)
    {
        string path = Path.Combine(_folder, $"raw-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static InvalidDataException Refusal(string path) => Assert.Throws<InvalidDataException>(() => DenseNetwork<float>.Load(path));

    private static long Offset(string path) => (long)Refusal(path).Data["MnistNet.Offset"]!;

    private static string Message(string path) => Refusal(path).Message;
}
