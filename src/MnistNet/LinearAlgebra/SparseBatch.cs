using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using MnistNet.Data;
using MnistNet.Threading;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// A mini-batch of mostly-zero inputs kept as each column's non-zeros (row index, value) — column j's entries are
/// [ColumnStart[j], ColumnStart[j + 1]) with rows increasing — and the same entries grouped by row, for the weight
/// gradient; in buffers reused from batch to batch.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
internal sealed class SparseBatch<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Images ahead whose entries the gather asks the memory system for (their places in the index are random).</summary>
    private const int PrefetchAhead = 8;

    private readonly T[] _scale = new T[256];
    private readonly int[] _cursor;

    public SparseBatch(int rows, int capacity)
    {
        Rows = rows;
        ColumnStart = new int[capacity + 1];
        RowIndex = new ushort[(long)rows * capacity];
        Values = new T[(long)rows * capacity];
        RowStart = new int[rows + 1];
        _cursor = new int[rows + 1];
        RowColumn = new int[(long)rows * capacity];
        RowValue = new T[(long)rows * capacity];
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

    /// <summary>Gets where each column's entries start (the first <see cref="Columns"/> + 1 values).</summary>
    public int[] ColumnStart { get; }

    /// <summary>Gets each by-column entry's row.</summary>
    public ushort[] RowIndex { get; }

    /// <summary>Gets each by-column entry's value (the pixel / 255).</summary>
    public T[] Values { get; }

    /// <summary>Gets where each row's entries start in the by-row layout (the first <see cref="Rows"/> + 1 values).</summary>
    public int[] RowStart { get; }

    /// <summary>Gets each by-row entry's column, increasing within a row.</summary>
    public int[] RowColumn { get; }

    /// <summary>Gets each by-row entry's value.</summary>
    public T[] RowValue { get; }

    /// <summary>
    /// Gathers the images at <paramref name="indices"/> (already validated) from <paramref name="data"/>'s sparse index
    /// by column, then groups the entries by row (a counting sort; columns stay in increasing order within a row).
    /// </summary>
    public void Load(Dataset data, ReadOnlySpan<int> indices)
    {
        LoadColumns(data, indices);
        GroupByRow();
    }

    /// <summary>The first half of <see cref="Load"/>: the entries by column, and how many each row has.</summary>
    public void LoadColumns(Dataset data, ReadOnlySpan<int> indices)
    {
        SparseImages index = data.SparseIndex;
        int total = 0;
        for (int b = 0; b < indices.Length; b++)
        {
            ColumnStart[b] = total;
            int i = indices[b];
            total += index.Start[i + 1] - index.Start[i];
        }

        ColumnStart[indices.Length] = total;
        Columns = indices.Length;
        Span<int> count = _cursor;
        count.Clear();
        for (int b = 0; b < indices.Length; b++)
        {
            // The images lie anywhere in the index: ask for the entries a few images ahead so their cache misses overlap.
            if (b + PrefetchAhead < indices.Length)
            {
                Prefetch(index, indices[b + PrefetchAhead]);
            }

            int i = indices[b];
            int s = index.Start[i];
            int n = index.Start[i + 1] - s;
            if (n == 0)
            {
                continue;
            }

            int at = ColumnStart[b];
            index.Pixel.AsSpan(s, n).CopyTo(RowIndex.AsSpan(at, n));
            _ = index.Value.AsSpan(s, n);   // one range check for the loop below
            _ = Values.AsSpan(at, n);
            ref ushort pixel = ref index.Pixel[s];
            ref byte value = ref index.Value[s];
            ref T output = ref Values[at];
            ref T scale = ref _scale[0];
            ref int counter = ref count[1];
            for (int k = 0; k < n; k++)
            {
                Unsafe.Add(ref output, k) = Unsafe.Add(ref scale, Unsafe.Add(ref value, k));
                Unsafe.Add(ref counter, Unsafe.Add(ref pixel, k))++;
            }
        }
    }

    /// <summary>The second half of <see cref="Load"/>: the entries grouped by row, from those <see cref="LoadColumns"/> gathered.</summary>
    public void GroupByRow()
    {
        Span<int> count = _cursor;
        for (int k = 0; k < Rows; k++)
        {
            count[k + 1] += count[k];
        }

        count.CopyTo(RowStart);

        // Fill from each row's start, walking the columns in order.
        ref int cursor = ref count[0];
        ref ushort rowOf = ref RowIndex[0];
        ref int columnOut = ref RowColumn[0];
        ref T valueOut = ref RowValue[0];
        ref T valueIn = ref Values[0];
        for (int j = 0; j < Columns; j++)
        {
            for (int e = ColumnStart[j], end = ColumnStart[j + 1]; e < end; e++)
            {
                int at = Unsafe.Add(ref cursor, Unsafe.Add(ref rowOf, e))++;
                Unsafe.Add(ref columnOut, at) = j;
                Unsafe.Add(ref valueOut, at) = Unsafe.Add(ref valueIn, e);
            }
        }
    }

    /// <summary>Hints the cache lines of image <paramref name="i"/>'s entries (a no-op without SSE). A hint never faults and never changes a value.</summary>
    private static unsafe void Prefetch(SparseImages index, int i)
    {
        int s = index.Start[i];
        int n = index.Start[i + 1] - s;
        if (!Sse.IsSupported || n <= 0)
        {
            return;
        }

        // Stryker disable all : hints only: which lines are asked for changes no value (a hint never faults)
        byte* pixel = (byte*)Unsafe.AsPointer(ref index.Pixel[s]);
        byte* value = (byte*)Unsafe.AsPointer(ref index.Value[s]);
        for (int offset = 0; offset < n * sizeof(ushort); offset += 64)
        {
            Sse.Prefetch0(pixel + offset);
        }

        for (int offset = 0; offset < n; offset += 64)
        {
            Sse.Prefetch0(value + offset);
        }

        // Stryker restore all
    }
}

/// <summary>
/// One mini-batch's sparse input as identical copies, one per thread that works on it: each thread gathers the batch
/// itself, into buffers its core then reads from its own cache. Two cores that share one copy pass
/// its cache lines between them on every step, and on the shared virtual machines measured here that costs more than
/// gathering twice.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
internal sealed class SparseBatchSet<T> : IChunkJob
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _rows;
    private readonly int _capacity;
    private readonly int[] _indices;
    private SparseBatch<T>[] _copies = [];
    private int[] _owners = [];
    private Dataset? _data;
    private int _count;
    private bool _groupRows;

    public SparseBatchSet(int rows, int capacity)
    {
        _rows = rows;
        _capacity = capacity;
        _indices = new int[capacity];
    }

    /// <summary>Gets how many copies the current batch has.</summary>
    public int Count { get; private set; }

    /// <summary>Gets the number of columns of the current batch.</summary>
    public int Columns => _count;

    /// <summary>Gets copy <paramref name="i"/> (any copy serves any chunk of work: they hold the same values).</summary>
    public SparseBatch<T> this[int i] => _copies[i];

    /// <summary>
    /// Gathers the images at <paramref name="indices"/> (already validated) into <paramref name="copies"/> copies, each
    /// by its own participant of the worker pool (copy p by participant p).
    /// </summary>
    public void Load(Dataset data, ReadOnlySpan<int> indices, int copies) => Load(data, indices, copies, groupRows: true);

    /// <summary>
    /// As <see cref="Load(Dataset, ReadOnlySpan{int}, int)"/>; without <paramref name="groupRows"/> only the by-column
    /// entries are gathered, and <see cref="GroupRows"/> must group copy 0's by row before a weight gradient reads them.
    /// </summary>
    public void Load(Dataset data, ReadOnlySpan<int> indices, int copies, bool groupRows)
    {
        copies = Math.Max(1, copies);
        if (_copies.Length < copies)
        {
            SparseBatch<T>[] grown = new SparseBatch<T>[copies];
            _copies.CopyTo(grown, 0);
            for (int c = _copies.Length; c < copies; c++)
            {
                grown[c] = new SparseBatch<T>(_rows, _capacity);
            }

            _copies = grown;
            _owners = [.. Enumerable.Range(0, copies)];
        }

        indices.CopyTo(_indices);
        _count = indices.Length;
        _data = data;
        _groupRows = groupRows;
        Count = copies;
        try
        {
            WorkerPool.Shared.RunOwned(this, copies, copies, _owners);
        }
        // Stryker disable once Block : releases a reference for the collector; no value depends on it
        finally
        {
            _data = null;
        }
    }

    /// <summary>Groups copy 0's entries by row (after a <see cref="Load(Dataset, ReadOnlySpan{int}, int, bool)"/> without grouping).</summary>
    public void GroupRows() => _copies[0].GroupByRow();

    /// <summary>Gathers copy <paramref name="chunk"/>.</summary>
    public void Execute(int chunk)
    {
        _copies[chunk].LoadColumns(_data!, _indices.AsSpan(0, _count));
        if (_groupRows)
        {
            _copies[chunk].GroupByRow();
        }
    }
}
