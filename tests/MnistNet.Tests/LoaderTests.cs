using System.Text;
using MnistNet.Data;

namespace MnistNet.Tests;

public class MnistLoaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mnistnet-mnist-").FullName;

    public void Dispose()
    {
        Directory.Delete(_folder, recursive: true);
        GC.SuppressFinalize(this);
    }

    [Fact]
    public void PathsOfTheWrongKind_GetTheDocumentedExceptions_SayingWhatTheyAre()
    {
        string file = Path.Combine(_folder, "a-file");
        File.WriteAllText(file, "x");
        var notAFolder = Assert.Throws<DirectoryNotFoundException>(() => MnistDataset.Load(file));
        Assert.Contains("is a file", notAFolder.Message);
        Assert.Contains("does not exist", Assert.Throws<DirectoryNotFoundException>(() => MnistDataset.Load(Path.Combine(_folder, "missing"))).Message);

        // A folder where a file is expected: on Linux opening it throws UnauthorizedAccessException, which no reader documents.
        var idx = Assert.Throws<FileNotFoundException>(() => IdxReader.Read(_folder));
        Assert.Contains("is a folder", idx.Message);
        var model = Assert.Throws<FileNotFoundException>(() => MnistNet.Networks.DenseNetwork<float>.Load(_folder));
        Assert.Contains("is a folder", model.Message);
        Assert.Throws<FileNotFoundException>(() => MnistNet.Networks.DenseNetwork<float>.Load(Path.Combine(_folder, "none.safetensors")));
    }

    [Fact]
    public void Load_BundledData_HasTheDocumentedCounts()
    {
        MnistDataset mnist = MnistDataset.Load(TestData.DataFolder);
        Assert.Equal(60000, mnist.Train.Count);
        Assert.Equal(10000, mnist.Test!.Count);
        Assert.Equal(28, mnist.Train.ImageRows);
        int[] counts = new int[10];
        foreach (byte label in mnist.Train.Labels)
        {
            counts[label]++;
        }

        // From data/mnist/README.md.
        Assert.Equal([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949], counts);
    }

    [Fact]
    public void Load_SmallFolder_RawAndGzMixed_RoundTrips()
    {
        byte[] pixels = Enumerable.Range(0, 3 * 4 * 5).Select(i => (byte)(i * 4)).ToArray();
        IdxWriter.Write(Path.Combine(_folder, "train-images-idx3-ubyte"), IdxFile.Create<byte>([3, 4, 5], pixels));
        IdxWriter.Write(Path.Combine(_folder, "train-labels-idx1-ubyte.gz"), IdxFile.Create<byte>([3], [7, 0, 9]), compress: true);
        MnistDataset mnist = MnistDataset.Load(_folder);
        Assert.Null(mnist.Test);
        Assert.Equal(3, mnist.Train.Count);
        Assert.Equal(4, mnist.Train.ImageRows);
        Assert.Equal(5, mnist.Train.ImageColumns);
        Assert.Equal(pixels, mnist.Train.RawPixels.ToArray());
        Assert.Equal(new ushort[] { 7, 0, 9 }, mnist.Train.Labels.ToArray());
    }

    [Fact]
    public void Load_CountMismatch_NamesBothCounts()
    {
        IdxWriter.Write(Path.Combine(_folder, "train-images-idx3-ubyte"), IdxFile.Create<byte>([2, 2, 2], new byte[8]));
        IdxWriter.Write(Path.Combine(_folder, "train-labels-idx1-ubyte"), IdxFile.Create<byte>([3], [1, 2, 3]));
        var ex = Assert.Throws<InvalidDataException>(() => MnistDataset.Load(_folder));
        Assert.Contains("3 labels", ex.Message);
        Assert.Contains("2 images", ex.Message);
    }

    [Fact]
    public void Load_LabelOutOfRange_NamesItemAndOffset()
    {
        IdxWriter.Write(Path.Combine(_folder, "train-images-idx3-ubyte"), IdxFile.Create<byte>([3, 2, 2], new byte[12]));
        IdxWriter.Write(Path.Combine(_folder, "train-labels-idx1-ubyte"), IdxFile.Create<byte>([3], [1, 10, 3]));
        var ex = Assert.Throws<InvalidDataException>(() => MnistDataset.Load(_folder, maxLabel: 9));
        Assert.Contains("label 10 of item 1", ex.Message);
        Assert.Contains("expected 0 to 9", ex.Message);
        Assert.Equal(9L, ex.Data["MnistNet.Offset"]);

        // Without a limit (EMNIST's labels go up to 26, 46 or 61), the same files load, with 11 classes.
        Assert.Equal(11, MnistDataset.Load(_folder).Train.ClassCount);
    }

    [Fact]
    public void Load_WrongDimensionCount_ReportsMagic()
    {
        IdxWriter.Write(Path.Combine(_folder, "train-images-idx3-ubyte"), IdxFile.Create<byte>([3, 4], new byte[12]));
        IdxWriter.Write(Path.Combine(_folder, "train-labels-idx1-ubyte"), IdxFile.Create<byte>([3], [1, 2, 3]));
        var ex = Assert.Throws<InvalidDataException>(() => MnistDataset.Load(_folder));
        Assert.Contains("0x00000803", ex.Message);
        Assert.Contains("2 dimension(s)", ex.Message);
    }

    [Fact]
    public void Load_LabelsAndImagesSwapped_ReportsMagic()
    {
        IdxWriter.Write(Path.Combine(_folder, "train-images-idx3-ubyte"), IdxFile.Create<byte>([3], [1, 2, 3]));
        IdxWriter.Write(Path.Combine(_folder, "train-labels-idx1-ubyte"), IdxFile.Create<byte>([3, 2, 2], new byte[12]));
        var ex = Assert.Throws<InvalidDataException>(() => MnistDataset.Load(_folder));
        Assert.Contains("found magic 0x00000801 = 2049", ex.Message);
    }

    [Fact]
    public void Load_MissingFiles_Throw_NamingTheMissingOne()
    {
        Assert.Throws<DirectoryNotFoundException>(() => MnistDataset.Load(Path.Combine(_folder, "nope")));
        string Missing() => Assert.Throws<FileNotFoundException>(() => MnistDataset.Load(_folder)).FileName!;
        string trainImages = Path.Combine(_folder, "train-images-idx3-ubyte");
        Assert.Equal(trainImages, Missing());
        IdxWriter.Write(trainImages, IdxFile.Create<byte>([1, 1, 1], [0]));
        var labels = Assert.Throws<FileNotFoundException>(() => MnistDataset.Load(_folder));
        Assert.Equal($"The MNIST folder '{_folder}' has no 'train-labels-idx1-ubyte' (or 'train-labels-idx1-ubyte.gz').", labels.Message);
        Assert.Equal(Path.Combine(_folder, "train-labels-idx1-ubyte"), labels.FileName);

        File.Move(trainImages, Path.Combine(_folder, "kept"));
        IdxWriter.Write(Path.Combine(_folder, "train-labels-idx1-ubyte"), IdxFile.Create<byte>([1], [0]));
        Assert.Equal(trainImages, Missing());                           // labels alone: the images are named
        File.Move(Path.Combine(_folder, "kept"), trainImages);

        // Half of the test set, either half: the other one is named.
        string testImages = Path.Combine(_folder, "t10k-images-idx3-ubyte"), testLabels = Path.Combine(_folder, "t10k-labels-idx1-ubyte");
        IdxWriter.Write(testImages, IdxFile.Create<byte>([1, 1, 1], [0]));
        var half = Assert.Throws<FileNotFoundException>(() => MnistDataset.Load(_folder));
        Assert.Equal($"The MNIST folder '{_folder}' has only half of the test set: 't10k-labels-idx1-ubyte' (or 't10k-labels-idx1-ubyte.gz') is missing.", half.Message);
        Assert.Equal(testLabels, half.FileName);
        File.Delete(testImages);
        IdxWriter.Write(testLabels, IdxFile.Create<byte>([1], [0]));
        Assert.Equal(testImages, Missing());

        IdxWriter.Write(testImages, IdxFile.Create<byte>([1, 1, 1], [0]));
        Assert.Equal(1, MnistDataset.Load(_folder).Test!.Count);
        Assert.Throws<ArgumentNullException>("folder", () => MnistDataset.Load(null!));
    }

    [Fact]
    public void Load_GzipReadAsSomethingElse_GivesInvalidData()
    {
        File.WriteAllBytes(Path.Combine(_folder, "train-images-idx3-ubyte"), [0x1F, 0x8B, 8, 8, 1, 2, 3]);
        IdxWriter.Write(Path.Combine(_folder, "train-labels-idx1-ubyte"), IdxFile.Create<byte>([1], [0]));
        Assert.Throws<InvalidDataException>(() => MnistDataset.Load(_folder));
    }
}

public class KaggleCsvTests
{
    private static readonly string TrainHeader = "label," + string.Join(",", Enumerable.Range(0, 784).Select(i => $"pixel{i}"));
    private static readonly string TestHeader = string.Join(",", Enumerable.Range(0, 784).Select(i => $"pixel{i}"));

    [Fact]
    public void ReadTrain_ValidRows_CrLfAndTrailingNewline()
    {
        string row1 = "7," + string.Join(",", Enumerable.Range(0, 784).Select(i => i % 256));
        string row2 = "0," + string.Join(",", Enumerable.Repeat(255, 784));
        Dataset data = KaggleCsv.Read(new StringReader($"{TrainHeader}\r\n{row1}\r\n{row2}\r\n"), labelled: true, "train.csv");
        Assert.Equal(2, data.Count);
        Assert.Equal(new ushort[] { 7, 0 }, data.Labels.ToArray());
        Assert.Equal(200, data.Image(0)[200]);
        Assert.Equal(255, data.Image(1)[783]);
    }

    [Fact]
    public void ReadTest_Unlabelled()
    {
        string row = string.Join(",", Enumerable.Repeat(3, 784));
        Dataset data = KaggleCsv.Read(new StringReader($"{TestHeader}\n{row}"), labelled: false, "test.csv");
        Assert.False(data.HasLabels);
        Assert.Throws<InvalidOperationException>(() => data.Labels.Length);
        Assert.Equal(3, data.Image(0)[0]);
    }

    [Fact]
    public void ReadTrainAndTest_FromFiles()
    {
        string folder = Directory.CreateTempSubdirectory("mnistnet-csv-").FullName;
        try
        {
            string train = Path.Combine(folder, "train.csv");
            File.WriteAllText(train, $"{TrainHeader}\n4,{string.Join(",", Enumerable.Repeat(1, 784))}\n");
            Assert.Equal(4, KaggleCsv.ReadTrain(train).Labels[0]);
            string test = Path.Combine(folder, "test.csv");
            File.WriteAllText(test, $"{TestHeader}\n{string.Join(",", Enumerable.Repeat(1, 784))}\n", new UTF8Encoding(true));
            Assert.Equal(1, KaggleCsv.ReadTest(test).Count);
            Assert.Throws<FileNotFoundException>(() => KaggleCsv.ReadTrain(Path.Combine(folder, "missing.csv")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("", 1, 1, "empty")]
    [InlineData("HEADER", 1, 1, "header field 1")]
    public void Read_BadHeaderOrEmpty_Throws(string text, int line, int column, string fragment)
    {
        var ex = Assert.Throws<InvalidDataException>(() => KaggleCsv.Read(new StringReader(text), labelled: true, "t.csv"));
        Assert.Contains(fragment, ex.Message);
        Assert.Equal(line, ex.Data["MnistNet.Line"]);
        Assert.Equal(column, ex.Data["MnistNet.Column"]);
    }

    [Fact]
    public void Read_HeaderOnly_Throws()
    {
        var ex = Assert.Throws<InvalidDataException>(() => KaggleCsv.Read(new StringReader(TrainHeader + "\n"), labelled: true, "t.csv"));
        Assert.Contains("no data rows", ex.Message);
    }

    [Fact]
    public void Read_NonInteger_ReportsLineAndColumn()
    {
        string row = "5,0,0,x1," + string.Join(",", Enumerable.Repeat(0, 781));
        var ex = Assert.Throws<InvalidDataException>(() => KaggleCsv.Read(new StringReader($"{TrainHeader}\n{row}"), labelled: true, "t.csv"));
        Assert.Contains("line 2, column 7", ex.Message);
        Assert.Contains("pixel2", ex.Message);
        Assert.Contains("'x1'", ex.Message);
    }

    [Fact]
    public void Read_OutOfRangeValues_Throw()
    {
        string pixel = "5," + string.Join(",", Enumerable.Repeat(0, 783)) + ",256";
        Assert.Contains("pixel783) is 256", Assert.Throws<InvalidDataException>(() => KaggleCsv.Read(new StringReader($"{TrainHeader}\n{pixel}"), true, "t.csv")).Message);
        string label = "10," + string.Join(",", Enumerable.Repeat(0, 784));
        Assert.Contains("(label) is 10", Assert.Throws<InvalidDataException>(() => KaggleCsv.Read(new StringReader($"{TrainHeader}\n{label}"), true, "t.csv")).Message);
        string negative = "1,-1," + string.Join(",", Enumerable.Repeat(0, 783));
        Assert.Contains("is -1", Assert.Throws<InvalidDataException>(() => KaggleCsv.Read(new StringReader($"{TrainHeader}\n{negative}"), true, "t.csv")).Message);
    }

    [Fact]
    public void Read_WrongColumnCount_Throws()
    {
        string shortRow = "5," + string.Join(",", Enumerable.Repeat(0, 783));
        Assert.Contains("too few fields: expected 785, found 784", Assert.Throws<InvalidDataException>(() => KaggleCsv.Read(new StringReader($"{TrainHeader}\n{shortRow}"), true, "t.csv")).Message);
        string longRow = "5," + string.Join(",", Enumerable.Repeat(0, 785));
        Assert.Contains("too many fields", Assert.Throws<InvalidDataException>(() => KaggleCsv.Read(new StringReader($"{TrainHeader}\n{longRow}"), true, "t.csv")).Message);
        string good = "5," + string.Join(",", Enumerable.Repeat(0, 784));
        var blank = Assert.Throws<InvalidDataException>(() => KaggleCsv.Read(new StringReader($"{TrainHeader}\n{good}\n\n{good}"), true, "t.csv"));
        Assert.Equal(3, blank.Data["MnistNet.Line"]);
    }
}

public class DatasetTests
{
    [Fact]
    public void Pixels_OneImagePerColumn_ScaledBy255()
    {
        byte[] pixels = [0, 51, 255, 102, 10, 20, 30, 40];
        var data = new Dataset(pixels, [1, 2], imageRows: 2, imageColumns: 2);
        var x = data.Pixels<double>();
        Assert.Equal(4, x.Rows);
        Assert.Equal(2, x.Columns);
        Assert.Equal(51 / 255.0, x[1, 0]);
        Assert.Equal(1.0, x[2, 0]);
        Assert.Equal(40 / 255.0, x[3, 1]);
    }

    [Fact]
    public void Split_IsSeeded_KeepsImageLabelPairs_AndPartitions()
    {
        byte[] pixels = Enumerable.Range(0, 50).Select(i => (byte)i).ToArray();
        ushort[] labels = Enumerable.Range(0, 50).Select(i => (ushort)(i % 10)).ToArray();
        var data = new Dataset(pixels, labels, 1, 1);
        (Dataset train, Dataset dev) = data.Split(devCount: 8, seed: 3);
        (Dataset train2, Dataset dev2) = data.Split(devCount: 8, seed: 3);
        Assert.Equal(42, train.Count);
        Assert.Equal(8, dev.Count);
        Assert.Equal(dev.RawPixels.ToArray(), dev2.RawPixels.ToArray());
        Assert.Equal(train.RawPixels.ToArray(), train2.RawPixels.ToArray());
        Assert.Equal(Enumerable.Range(0, 50), train.RawPixels.ToArray().Concat(dev.RawPixels.ToArray()).Select(b => (int)b).Order());
        for (int i = 0; i < train.Count; i++)
        {
            Assert.Equal(train.Image(i)[0] % 10, train.Labels[i]);
        }

        Assert.NotEqual(dev.RawPixels.ToArray(), data.Split(8, seed: 4).Dev.RawPixels.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Split(51, 0));
    }

    [Fact]
    public void CopyBatchTo_EqualsPixelsColumns_AndValidates()
    {
        byte[] pixels = Enumerable.Range(0, 5 * 4).Select(i => (byte)(i * 12)).ToArray();
        var data = new Dataset(pixels, [0, 1, 2, 3, 4], 2, 2);
        var all = data.Pixels<float>();
        var batch = new MnistNet.LinearAlgebra.Matrix<float>(4, 3);
        ushort[] labels = new ushort[3];
        data.CopyBatchTo<float>([4, 0, 2], batch, labels);
        Assert.Equal(new ushort[] { 4, 0, 2 }, labels);
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(all[k, 4], batch[k, 0]);
            Assert.Equal(all[k, 0], batch[k, 1]);
            Assert.Equal(all[k, 2], batch[k, 2]);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => data.CopyBatchTo<float>([5, 0, 1], batch, labels));
        Assert.Throws<ArgumentException>(() => data.CopyBatchTo<float>([1, 2], batch, labels));
        Assert.Throws<InvalidOperationException>(() => Dataset.Unlabeled(pixels, 2, 2).CopyBatchTo<float>([0, 1, 2], batch, labels));
    }

    [Fact]
    public void Constructor_Validates()
    {
        Assert.Throws<ArgumentException>(() => new Dataset(new byte[5], [0], 2, 2));
        Assert.Throws<ArgumentException>(() => new Dataset(new byte[4], [0, 1], 2, 2));

        // Any byte is a class index: 26 letters need labels up to 26, and the class count follows the labels.
        Assert.Equal(27, new Dataset(new byte[8], [26, 3], 2, 2).ClassCount);
        Assert.Equal(0, Dataset.Unlabeled(new byte[8], 2, 2).ClassCount);
    }
}
