using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MnistNet.Data;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// A mini-batch of mostly-zero inputs, read where it lies: column j's non-zeros are entries [ColumnBegin[j],
/// ColumnEnd[j]) of the data set's sparse index (<see cref="Pixel"/>, the row, increasing; <see cref="Value"/>, the byte,
/// worth <see cref="Scale"/>[byte]), so selecting a batch copies nothing; and the same entries grouped by row, for the
/// weight gradient, in buffers reused from batch to batch.
/// </summary>
/// <remarks>
/// An earlier form copied each column's entries into the batch first, once per thread that read them: on two threads
/// that copy was work neither thread could share (Zen 4, two threads: 40–60 µs of a 415–560 µs step). The batch holds
/// the last data set's index until the next <see cref="Select"/>.
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
internal sealed class SparseBatch<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Images ahead whose entries <see cref="CountRows"/> asks the memory system for (their places in the index are random).</summary>
    private const int PrefetchAhead = 8;

    private readonly T[] _scale = new T[256];
    private readonly int[] _cursor;
    private readonly int[] _counts;
    private SparseImages? _index;

    public SparseBatch(int rows, int capacity)
    {
        Rows = rows;
        ColumnBegin = new int[capacity];
        ColumnEnd = new int[capacity];
        RowStart = new int[rows + 1];
        _cursor = new int[rows + 1];
        _counts = new int[rows + 1];
        RowColumn = new int[(long)rows * capacity];
        RowValue = new byte[(long)rows * capacity];
        for (int v = 0; v < 256; v++)
        {
            // The same values as Dataset.Pixels<T>(): byte / 255.
            _scale[v] = T.CreateTruncating(v) / T.CreateTruncating(255);
        }
    }

    /// <summary>Gets the number of rows (inputs per example).</summary>
    public int Rows { get; }

    /// <summary>Gets the number of columns (examples) of the current batch.</summary>
    public int Columns { get; private set; }

    /// <summary>Gets where each column's entries start in <see cref="Pixel"/> and <see cref="Value"/> (the first <see cref="Columns"/> values).</summary>
    public int[] ColumnBegin { get; }

    /// <summary>Gets where each column's entries end (exclusive).</summary>
    public int[] ColumnEnd { get; }

    /// <summary>Gets each entry's row: the data set's index, shared, never written here.</summary>
    public ushort[] Pixel => _index?.Pixel ?? [];

    /// <summary>Gets each entry's byte: the data set's index, shared, never written here.</summary>
    public byte[] Value => _index?.Value ?? [];

    /// <summary>Gets each byte's value as <typeparamref name="T"/>: byte / 255, as <see cref="Dataset.Pixels{T}"/> gives it.</summary>
    public T[] Scale => _scale;

    /// <summary>Gets how many entries each row has, shifted by one (row k's count at k + 1; [0] is 0), once <see cref="RowsCounted"/>.</summary>
    public int[] RowCounts => _counts;

    /// <summary>
    /// Gets or sets whether <see cref="RowCounts"/> holds the selected batch's counts: set by <see cref="CountRows"/> or by
    /// a forward pass that counted them (<see cref="SparseInputKernels{T}"/>); cleared by <see cref="Select"/>.
    /// </summary>
    public bool RowsCounted { get; set; }

    /// <summary>Gets where each row's entries start in the by-row layout (the first <see cref="Rows"/> + 1 values).</summary>
    public int[] RowStart { get; }

    /// <summary>Gets each by-row entry's column, increasing within a row.</summary>
    public int[] RowColumn { get; }

    /// <summary>Gets each by-row entry's byte (its value is <see cref="Scale"/>[byte]).</summary>
    public byte[] RowValue { get; }

    /// <summary>
    /// Points the columns at the images at <paramref name="indices"/> (already validated) in <paramref name="data"/>'s
    /// sparse index; the by-row layout is then stale until <see cref="GroupByRow"/>.
    /// </summary>
    public void Select(Dataset data, ReadOnlySpan<int> indices)
    {
        SparseImages index = data.SparseIndex;
        _index = index;
        Columns = indices.Length;
        RowsCounted = false;
        for (int b = 0; b < indices.Length; b++)
        {
            int i = indices[b];
            ColumnBegin[b] = index.Start[i];
            ColumnEnd[b] = index.Start[i + 1];
        }
    }

    /// <summary>Counts each row's entries into <see cref="RowCounts"/> (a forward pass over the batch may have done it already).</summary>
    public void CountRows()
    {
        ushort[] pixels = Pixel;
        Span<int> count = _counts;
        count.Clear();
        ref int counter = ref count[1];
        for (int j = 0; j < Columns; j++)
        {
            // The images lie anywhere in the index: ask for the entries a few images ahead so their cache misses overlap.
            // Stryker disable all : hints only: which lines are asked for changes no value (a hint never faults)
            if (j + PrefetchAhead < Columns)
            {
                int ahead = ColumnBegin[j + PrefetchAhead];
                CacheHints.PrefetchRange(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(pixels), ahead), ColumnEnd[j + PrefetchAhead] - ahead);
            }

            // Stryker restore all

            int begin = ColumnBegin[j], end = ColumnEnd[j];
            _ = pixels.AsSpan(begin, end - begin);   // one range check for the loop below
            ref ushort pixel = ref MemoryMarshal.GetArrayDataReference(pixels);
            for (int e = begin; e < end; e++)
            {
                Unsafe.Add(ref counter, Unsafe.Add(ref pixel, e))++;
            }
        }

        // Stryker disable once Boolean : false only makes a later GroupByRow count again, to the same counts
        RowsCounted = true;
    }

    /// <summary>
    /// Groups the selected columns' entries by row (a counting sort; columns stay in increasing order within a row), for
    /// the weight gradient; counts the rows first unless <see cref="RowsCounted"/>.
    /// </summary>
    public void GroupByRow()
    {
        if (!RowsCounted)
        {
            CountRows();
        }

        Span<int> count = _cursor;
        _counts.CopyTo(count);
        for (int k = 0; k < Rows; k++)
        {
            count[k + 1] += count[k];
        }

        count.CopyTo(RowStart);

        // Fill from each row's start, walking the columns in order.
        ushort[] pixels = Pixel;
        byte[] bytes = Value;
        ref int cursor = ref count[0];
        ref ushort rowOf = ref MemoryMarshal.GetArrayDataReference(pixels);
        ref byte valueIn = ref MemoryMarshal.GetArrayDataReference(bytes);
        ref int columnOut = ref RowColumn[0];
        ref byte valueOut = ref RowValue[0];
        for (int j = 0; j < Columns; j++)
        {
            int begin = ColumnBegin[j], end = ColumnEnd[j];
            _ = pixels.AsSpan(begin, end - begin);   // one range check for the loop below
            _ = bytes.AsSpan(begin, end - begin);
            for (int e = begin; e < end; e++)
            {
                int at = Unsafe.Add(ref cursor, Unsafe.Add(ref rowOf, e))++;
                Unsafe.Add(ref columnOut, at) = j;
                Unsafe.Add(ref valueOut, at) = Unsafe.Add(ref valueIn, e);
            }
        }
    }
}
