using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Data;

/// <summary>
/// A set of same-sized grayscale images stored as bytes (0–255), one image after another, with an optional
/// label (a class index 0–65 535: digits 0–9 for MNIST, 1–26 for EMNIST letters) per image. Immutable: shuffles and splits
/// return new datasets.
/// </summary>
public sealed class Dataset
{
    private readonly byte[] _pixels;
    private readonly ushort[]? _labels;
    private SparseImages? _sparse;
    private double _density = double.NaN;

    /// <summary>Creates a labelled dataset from a copy of the given pixels and labels.</summary>
    /// <param name="pixels">count × <paramref name="imageRows"/> × <paramref name="imageColumns"/> bytes, image after image, each row-major.</param>
    /// <param name="labels">One label (class index) per image.</param>
    /// <param name="imageRows">Image height (28 for MNIST).</param>
    /// <param name="imageColumns">Image width (28 for MNIST).</param>
    /// <exception cref="ArgumentException">The lengths do not agree.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An image dimension is not positive.</exception>
    public Dataset(ReadOnlySpan<byte> pixels, ReadOnlySpan<ushort> labels, int imageRows = 28, int imageColumns = 28)
        : this(pixels.ToArray(), labels.ToArray(), imageRows, imageColumns, validate: true)
    {
    }

    private Dataset(byte[] pixels, ushort[]? labels, int imageRows, int imageColumns, bool validate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imageRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageColumns, 1);
        int perImage = checked(imageRows * imageColumns);
        if (pixels.Length % perImage != 0)
        {
            throw new ArgumentException($"Expected a multiple of {imageRows} × {imageColumns} = {perImage} pixel bytes, got {pixels.Length}.", nameof(pixels));
        }

        int count = pixels.Length / perImage;
        if (labels is not null && validate)
        {
            if (labels.Length != count)
            {
                throw new ArgumentException($"Expected one label per image: {count} labels, got {labels.Length}.", nameof(labels));
            }
        }

        _pixels = pixels;
        _labels = labels;
        ImageRows = imageRows;
        ImageColumns = imageColumns;
        Count = count;
    }

    /// <summary>Gets the number of images.</summary>
    public int Count { get; }

    /// <summary>Gets the image height in pixels.</summary>
    public int ImageRows { get; }

    /// <summary>Gets the image width in pixels.</summary>
    public int ImageColumns { get; }

    /// <summary>Gets the number of pixels per image (the network's input size).</summary>
    public int PixelsPerImage => ImageRows * ImageColumns;

    /// <summary>Gets a value indicating whether the images have labels (Kaggle's <c>test.csv</c> has none).</summary>
    public bool HasLabels => _labels is not null;

    /// <summary>Gets the labels, one per image.</summary>
    /// <exception cref="InvalidOperationException">The dataset has no labels.</exception>
    public ReadOnlySpan<ushort> Labels => _labels ?? throw new InvalidOperationException("This dataset has no labels (it was read from an unlabelled file such as Kaggle's test.csv).");

    /// <summary>Gets every pixel byte, image after image.</summary>
    public ReadOnlySpan<byte> RawPixels => _pixels;

    /// <summary>Creates an unlabelled dataset from a copy of the given pixels.</summary>
    /// <param name="pixels">count × <paramref name="imageRows"/> × <paramref name="imageColumns"/> bytes.</param>
    /// <param name="imageRows">Image height.</param>
    /// <param name="imageColumns">Image width.</param>
    /// <returns>A new dataset without labels.</returns>
    public static Dataset Unlabeled(ReadOnlySpan<byte> pixels, int imageRows = 28, int imageColumns = 28) =>
        new(pixels.ToArray(), null, imageRows, imageColumns, validate: true);

    /// <summary>Gets the pixels of image <paramref name="index"/>, row-major.</summary>
    /// <param name="index">Index in [0, <see cref="Count"/>).</param>
    /// <returns>A read-only view of <see cref="PixelsPerImage"/> bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    public ReadOnlySpan<byte> Image(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Image index must be in [0, {Count}).");
        }

        return _pixels.AsSpan(index * PixelsPerImage, PixelsPerImage);
    }

    /// <summary>
    /// Returns the images as a <see cref="PixelsPerImage"/> × <see cref="Count"/> matrix, one image per column, each
    /// pixel scaled to [0, 1] as <c>byte / 255</c> (the seed's convention).
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <returns>A new matrix.</returns>
    public Matrix<T> Pixels<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new Matrix<T>(PixelsPerImage, Count);
        Span<T> scale = stackalloc T[256];
        for (int v = 0; v < scale.Length; v++)
        {
            scale[v] = T.CreateTruncating(v) / T.CreateTruncating(255);
        }

        // Transpose image-major bytes into pixel-major rows, a block of images at a time so the
        // destination rows being written stay in cache.
        const int Block = 64;
        int perImage = PixelsPerImage;
        for (int j0 = 0; j0 < Count; j0 += Block)
        {
            int j1 = Math.Min(j0 + Block, Count);
            for (int k = 0; k < perImage; k++)
            {
                Span<T> row = result.Row(k);
                for (int j = j0; j < j1; j++)
                {
                    row[j] = scale[_pixels[(j * perImage) + k]];
                }
            }
        }

        return result;
    }

    /// <summary>
    /// Writes the images at <paramref name="indices"/> into the columns of <paramref name="destination"/>, scaled to [0, 1]
    /// as in <see cref="Pixels{T}"/>, and their labels into <paramref name="labels"/>: the allocation-free way to
    /// assemble a mini-batch.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="indices">Image indices, one per destination column.</param>
    /// <param name="destination">A <see cref="PixelsPerImage"/> × <c>indices.Length</c> matrix.</param>
    /// <param name="labels">Receives <c>indices.Length</c> labels; may be empty for an unlabelled dataset.</param>
    /// <exception cref="ArgumentException">A shape or length does not match.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is out of range.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="labels"/> is not empty but the dataset has no labels.</exception>
    public void CopyBatchTo<T>(ReadOnlySpan<int> indices, Matrix<T> destination, Span<ushort> labels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Rows != PixelsPerImage || destination.Columns != indices.Length)
        {
            throw new ArgumentException($"Expected a {PixelsPerImage} × {indices.Length} destination, got {destination.Rows} × {destination.Columns}.", nameof(destination));
        }

        if (!labels.IsEmpty && labels.Length != indices.Length)
        {
            throw new ArgumentException($"Expected {indices.Length} label slots (or none), got {labels.Length}.", nameof(labels));
        }

        CopyLabelsTo(indices, labels);

        // The same scaled values as Pixels<T>(), from a table rather than a division per pixel.
        Span<T> scale = stackalloc T[256];
        for (int v = 0; v < scale.Length; v++)
        {
            scale[v] = T.CreateTruncating(v) / T.CreateTruncating(255);
        }

        // Pixel-major destination rows: walk pixels outside, examples inside, as in Pixels<T>().
        int perImage = PixelsPerImage;
        for (int k = 0; k < perImage; k++)
        {
            Span<T> row = destination.Row(k);
            for (int b = 0; b < indices.Length; b++)
            {
                row[b] = scale[_pixels[(indices[b] * perImage) + k]];
            }
        }
    }

    /// <summary>Gets the number of classes the labels need: the largest label + 1 (0 without labels or images).</summary>
    public int ClassCount
    {
        get
        {
            if (_labels is null || _labels.Length == 0)
            {
                return 0;
            }

            int max = 0;
            foreach (ushort label in _labels)
            {
                max = Math.Max(max, label);
            }

            return max + 1;
        }
    }

    /// <summary>Gets the fraction of non-zero pixels, in [0, 1] (computed once; 0.19 for MNIST).</summary>
    /// <remarks>Counted without building the sparse index, which only a sparse first layer needs.</remarks>
    public double Density
    {
        get
        {
            if (double.IsNaN(_density))
            {
                int nonZero = _pixels.Length - System.MemoryExtensions.Count<byte>(_pixels, 0);
                _density = _pixels.Length == 0 ? 0 : (double)nonZero / _pixels.Length;
            }

            return _density;
        }
    }

    /// <summary>Each image's non-zero pixels (index and byte value), built once on first use, for sparse mini-batches.</summary>
    internal SparseImages SparseIndex => _sparse ??= SparseImages.Build(_pixels, Count, PixelsPerImage);

    /// <summary>Writes the labels of the images at <paramref name="indices"/> into <paramref name="labels"/>, checking every index.</summary>
    /// <remarks>With an empty <paramref name="labels"/> it only checks the indices.</remarks>
    internal void CopyLabelsTo(ReadOnlySpan<int> indices, Span<ushort> labels)
    {
        if (!labels.IsEmpty && _labels is null)
        {
            throw new InvalidOperationException("This dataset has no labels.");
        }

        for (int b = 0; b < indices.Length; b++)
        {
            int index = indices[b];
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), index, $"Image index at position {b} must be in [0, {Count}).");
            }

            if (!labels.IsEmpty)
            {
                labels[b] = _labels![index];
            }
        }
    }

    /// <summary>Returns a copy of images [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) with their labels.</summary>
    /// <param name="start">First image.</param>
    /// <param name="count">Number of images.</param>
    /// <returns>A new dataset.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the dataset.</exception>
    public Dataset Slice(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((long)start + count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"Range [{start}, {(long)start + count}) exceeds the dataset's {Count} images.");
        }

        return new Dataset(
            _pixels.AsSpan(start * PixelsPerImage, count * PixelsPerImage).ToArray(),
            _labels?.AsSpan(start, count).ToArray(),
            ImageRows,
            ImageColumns,
            validate: false);
    }

    /// <summary>Returns the images (and labels) in an order shuffled by a <see cref="Prng"/> seeded with <paramref name="seed"/>.</summary>
    /// <param name="seed">The seed; the same seed gives the same order.</param>
    /// <returns>A new dataset.</returns>
    public Dataset Shuffle(long seed)
    {
        int[] order = new int[Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        new Prng(seed).Shuffle(order.AsSpan());
        return Reorder(order);
    }

    /// <summary>
    /// The seed's hold-out split: shuffles with <paramref name="seed"/>, then returns the first <paramref name="devCount"/>
    /// images as <c>Dev</c> and the rest as <c>Train</c>.
    /// </summary>
    /// <param name="devCount">Number of images to hold out (0 to <see cref="Count"/>).</param>
    /// <param name="seed">The shuffle's seed.</param>
    /// <returns>The training part and the held-out part.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="devCount"/> is negative or exceeds <see cref="Count"/>.</exception>
    public (Dataset Train, Dataset Dev) Split(int devCount, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(devCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(devCount, Count);
        Dataset shuffled = Shuffle(seed);
        return (shuffled.Slice(devCount, Count - devCount), shuffled.Slice(0, devCount));
    }

    /// <summary>Returns a short description, such as <c>60000 labelled 28 × 28 images</c>.</summary>
    /// <returns>The count and shape.</returns>
    public override string ToString() => $"{Count} {(HasLabels ? "labelled" : "unlabelled")} {ImageRows} × {ImageColumns} images";

    internal static Dataset Trusted(byte[] pixels, ushort[]? labels, int imageRows, int imageColumns) =>
        new(pixels, labels, imageRows, imageColumns, validate: false);

    private Dataset Reorder(int[] order)
    {
        int perImage = PixelsPerImage;
        byte[] pixels = new byte[_pixels.Length];
        ushort[]? labels = _labels is null ? null : new ushort[_labels.Length];
        for (int i = 0; i < order.Length; i++)
        {
            _pixels.AsSpan(order[i] * perImage, perImage).CopyTo(pixels.AsSpan(i * perImage, perImage));
            if (labels is not null)
            {
                labels[i] = _labels![order[i]];
            }
        }

        return new Dataset(pixels, labels, ImageRows, ImageColumns, validate: false);
    }
}
