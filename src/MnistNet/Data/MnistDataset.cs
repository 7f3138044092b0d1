namespace MnistNet.Data;

/// <summary>The MNIST training set and, when present, its test set, loaded from the four standard IDX files.</summary>
public sealed class MnistDataset
{
    /// <summary>The standard file names (each may also end in <c>.gz</c>).</summary>
    public static readonly IReadOnlyList<string> FileNames =
    [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];

    private const int ImageMagic = 0x00000803;
    private const int LabelMagic = 0x00000801;

    private MnistDataset(Dataset train, Dataset? test)
    {
        Train = train;
        Test = test;
    }

    /// <summary>Gets the training set (60 000 images in MNIST).</summary>
    public Dataset Train { get; }

    /// <summary>Gets the test set (10 000 images in MNIST), or null when the folder has no test files.</summary>
    public Dataset? Test { get; }

    /// <summary>
    /// Loads <c>train-images-idx3-ubyte</c> and <c>train-labels-idx1-ubyte</c> (required) and
    /// <c>t10k-images-idx3-ubyte</c> and <c>t10k-labels-idx1-ubyte</c> (optional, both or neither) from
    /// <paramref name="folder"/>, each raw or with a <c>.gz</c> suffix.
    /// </summary>
    /// <param name="folder">The folder holding the files.</param>
    /// <param name="maxLabel">The largest label allowed (9 for MNIST's digits, 26 for EMNIST letters, 46 for EMNIST balanced); by default any byte.</param>
    /// <returns>The training set and the test set if present.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist, or is a file.</exception>
    /// <exception cref="FileNotFoundException">A required file (or half of the test pair) is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, is not an MNIST image or label file, a label exceeds <paramref name="maxLabel"/>, or the counts disagree.</exception>
    /// <remarks>EMNIST ships in the same format and loads the same way; the number of classes is then <see cref="Dataset.ClassCount"/>.</remarks>
    public static MnistDataset Load(string folder, byte maxLabel = byte.MaxValue)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException(File.Exists(folder)
                ? $"'{folder}' is a file; expected the folder that holds the MNIST IDX files."
                : $"The MNIST folder '{folder}' does not exist.");
        }

        string? trainImages = Find(folder, FileNames[0]);
        string? trainLabels = Find(folder, FileNames[1]);
        if (trainImages is null || trainLabels is null)
        {
            string missing = trainImages is null ? FileNames[0] : FileNames[1];
            throw new FileNotFoundException($"The MNIST folder '{folder}' has no '{missing}' (or '{missing}.gz').", Path.Combine(folder, missing));
        }

        Dataset train = LoadPair(trainImages, trainLabels, maxLabel);
        string? testImages = Find(folder, FileNames[2]);
        string? testLabels = Find(folder, FileNames[3]);
        if ((testImages is null) != (testLabels is null))
        {
            string missing = testImages is null ? FileNames[2] : FileNames[3];
            throw new FileNotFoundException($"The MNIST folder '{folder}' has only half of the test set: '{missing}' (or '{missing}.gz') is missing.", Path.Combine(folder, missing));
        }

        Dataset? test = testImages is null ? null : LoadPair(testImages, testLabels!, maxLabel);
        return new MnistDataset(train, test);
    }

    /// <summary>Reads an MNIST image file and its label file and checks that they belong together.</summary>
    /// <param name="imagesPath">An IDX file of magic 2051 (ubyte, 3 dimensions: count × rows × columns).</param>
    /// <param name="labelsPath">An IDX file of magic 2049 (ubyte, 1 dimension: count).</param>
    /// <param name="maxLabel">The largest label allowed (9 for MNIST); by default any byte.</param>
    /// <returns>The labelled images.</returns>
    /// <exception cref="InvalidDataException">A file is malformed or of the wrong kind, a label exceeds <paramref name="maxLabel"/>, or the counts disagree.</exception>
    public static Dataset LoadPair(string imagesPath, string labelsPath, byte maxLabel = byte.MaxValue)
    {
        IdxFile images = IdxReader.Read(imagesPath);
        RequireKind(images, imagesPath, ImageMagic, 3, "images");
        IdxFile labels = IdxReader.Read(labelsPath);
        RequireKind(labels, labelsPath, LabelMagic, 1, "labels");

        int count = images.Dimensions[0];
        if (labels.Dimensions[0] != count)
        {
            throw DataErrors.InFile(labelsPath, $"has {labels.Dimensions[0]} labels, but '{imagesPath}' has {count} images: expected the same count.");
        }

        if (images.Dimensions[1] == 0 || images.Dimensions[2] == 0)
        {
            throw DataErrors.AtOffset(imagesPath, 8, $"images of {images.Dimensions[1]} × {images.Dimensions[2]} pixels: expected positive sizes (28 × 28 for MNIST).");
        }

        ReadOnlySpan<byte> values = labels.GetData<byte>();
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] > maxLabel)
            {
                throw DataErrors.AtOffset(labelsPath, 8 + i, $"label {values[i]} of item {i} is out of range: expected 0 to {maxLabel}.");
            }
        }

        ushort[] classes = new ushort[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            classes[i] = values[i];
        }

        return Dataset.Trusted(images.GetData<byte>().ToArray(), classes, images.Dimensions[1], images.Dimensions[2]);
    }

    private static void RequireKind(IdxFile file, string path, int magic, int rank, string what)
    {
        if (file.ElementType != IdxElementType.UnsignedByte || file.Dimensions.Count != rank)
        {
            int found = ((byte)file.ElementType << 8) | file.Dimensions.Count;
            throw DataErrors.AtOffset(path, 0, $"expected MNIST {what} (magic 0x{magic:X8} = {magic}: unsigned bytes, {rank} dimension(s)), found magic 0x{found:X8} = {found} ({file.ElementType}, {file.Dimensions.Count} dimension(s)).");
        }
    }

    private static string? Find(string folder, string name)
    {
        string raw = Path.Combine(folder, name);
        if (File.Exists(raw))
        {
            return raw;
        }

        string gz = raw + ".gz";
        return File.Exists(gz) ? gz : null;
    }
}
