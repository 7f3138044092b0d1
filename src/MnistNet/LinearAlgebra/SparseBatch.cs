using System.Numerics;
using System.Runtime.CompilerServices;
using MnistNet.Data;
using MnistNet.Threading;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// A mini-batch of mostly-zero inputs kept as each column's non-zeros (row index, value), in a buffer reused from
/// batch to batch: column j's entries are [ColumnStart[j], ColumnStart[j + 1]) with rows increasing.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
internal sealed class SparseBatch<T> : IChunkJob
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Images per chunk of the parallel gather.</summary>
    private const int GatherChunk = 32;

    private readonly T[] _scale = new T[256];
    private int[][] _rowCursor = [];

    /// <summary>How many parts the forward pass splits the by-row grouping into (one per thread of a two-core machine).</summary>
    public const int GroupParts = 2;
    private readonly int[] _indices;
    private SparseImages? _source;

    public SparseBatch(int rows, int capacity)
    {
        Rows = rows;
        ColumnStart = new int[capacity + 1];
        _indices = new int[capacity];
        RowIndex = new ushort[(long)rows * capacity];
        Values = new T[(long)rows * capacity];
        for (int v = 0; v < 256; v++)
        {
            // The same values as Dataset.Pixels<T>(): byte / 255.
            _scale[v] = T.CreateTruncating(v) / T.CreateTruncating(255);
        }
    }

    /// <summary>Gets the number of rows (inputs per example).</summary>
    public int Rows { get; }

    /// <summary>Gets the number of columns of the current batch.</summary>
    public int Columns { get; private set; }

    public int[] ColumnStart { get; }

    public ushort[] RowIndex { get; }

    public T[] Values { get; }

    /// <summary>The same entries grouped by row: row k's are [RowStart[k], RowStart[k + 1]) of <see cref="RowColumn"/> and <see cref="RowValue"/>, columns increasing.</summary>
    public int[] RowStart { get; private set; } = [];

    public int[] RowColumn { get; private set; } = [];

    public T[] RowValue { get; private set; } = [];

    /// <summary>Gets whether <see cref="RowStart"/> and the rest of the by-row layout describe the current batch.</summary>
    public bool RowsReady { get; private set; }

    /// <summary>
    /// Gathers the images at <paramref name="indices"/> (already validated) from <paramref name="data"/>'s sparse index:
    /// the columns' offsets first, then the entries in chunks of images on up to <paramref name="threads"/> threads.
    /// The by-row layout follows in <see cref="GroupByRow"/>.
    /// </summary>
    public void Gather(Dataset data, ReadOnlySpan<int> indices, int threads = 1)
    {
        SparseImages index = data.SparseIndex;
        int e = 0;
        for (int b = 0; b < indices.Length; b++)
        {
            ColumnStart[b] = e;
            int i = indices[b];
            e += index.Start[i + 1] - index.Start[i];
        }

        ColumnStart[indices.Length] = e;
        indices.CopyTo(_indices);
        Columns = indices.Length;
        RowsReady = false;
        _source = index;
        try
        {
            WorkerPool.Shared.Run(this, (indices.Length + GatherChunk - 1) / GatherChunk, threads);
        }
        finally
        {
            _source = null;
        }
    }

    /// <summary>Copies the entries of the images of one chunk.</summary>
    public void Execute(int chunk)
    {
        SparseImages index = _source!;
        for (int b = chunk * GatherChunk, end = Math.Min(b + GatherChunk, Columns); b < end; b++)
        {
            int i = _indices[b];
            int s = index.Start[i];
            int n = index.Start[i + 1] - s;
            int e = ColumnStart[b];
            index.Pixel.AsSpan(s, n).CopyTo(RowIndex.AsSpan(e, n));
            ReadOnlySpan<byte> bytes = index.Value.AsSpan(s, n);
            Span<T> values = Values.AsSpan(e, n);
            for (int k = 0; k < n; k++)
            {
                values[k] = _scale[bytes[k]];
            }
        }
    }

    /// <summary>Builds the by-row layout from the by-column one (a counting sort; columns stay in increasing order within a row).</summary>
    public void GroupByRow()
    {
        PrepareRowLayout(1);
        GroupRows(0, 1);
        RowsReady = true;
    }

    /// <summary>
    /// Builds part <paramref name="part"/> of <paramref name="parts"/> of the by-row layout: the rows of one contiguous
    /// range. Every part counts all rows (cheap) to know where its rows start, and writes only its own rows' entries and
    /// starts, so the parts run on different threads with the same result as <see cref="GroupByRow"/>. Call
    /// <see cref="MarkRowsReady"/> when all parts are done.
    /// </summary>
    public void GroupRows(int part, int parts)
    {
        if (RowStart.Length != Rows + 1 || _rowCursor.Length < parts)
        {
            throw new InvalidOperationException("Call PrepareRowLayout before grouping in parts.");
        }

        int r0 = (int)((long)Rows * part / parts);
        int r1 = (int)((long)Rows * (part + 1) / parts);
        Span<int> next = _rowCursor[part];
        next.Clear();
        int total = ColumnStart[Columns];
        ReadOnlySpan<ushort> rows = RowIndex.AsSpan(0, total);
        foreach (ushort r in rows)
        {
            next[r + 1]++;
        }

        for (int k = 0; k < Rows; k++)
        {
            next[k + 1] += next[k];
        }

        Span<int> start = RowStart;
        for (int k = r0; k < r1; k++)
        {
            start[k] = next[k];
        }

        if (r1 == Rows)
        {
            start[Rows] = next[Rows];
        }

        // Fill from each row's start, walking the columns in order, keeping only this part's rows.
        ref int cursor = ref next[0];
        ref ushort rowOf = ref RowIndex[0];
        ref int columnOut = ref RowColumn[0];
        ref T valueOut = ref RowValue[0];
        ref T valueIn = ref Values[0];
        for (int j = 0; j < Columns; j++)
        {
            for (int e = ColumnStart[j], end = ColumnStart[j + 1]; e < end; e++)
            {
                int row = Unsafe.Add(ref rowOf, e);
                if ((uint)(row - r0) < (uint)(r1 - r0))
                {
                    int at = Unsafe.Add(ref cursor, row)++;
                    Unsafe.Add(ref columnOut, at) = j;
                    Unsafe.Add(ref valueOut, at) = Unsafe.Add(ref valueIn, e);
                }
            }
        }
    }

    /// <summary>Marks the by-row layout complete after every part of <see cref="GroupRows"/> ran.</summary>
    public void MarkRowsReady() => RowsReady = true;

    /// <summary>Allocates the by-row layout's buffers for <paramref name="parts"/> parts (once; before the parts run on several threads).</summary>
    public void PrepareRowLayout(int parts)
    {
        if (RowStart.Length == Rows + 1 && _rowCursor.Length >= parts)
        {
            return;
        }

        if (RowStart.Length != Rows + 1)
        {
            RowStart = new int[Rows + 1];
            RowColumn = new int[Values.Length];
            RowValue = new T[Values.Length];
        }

        _rowCursor = new int[Math.Max(parts, GroupParts)][];
        for (int p = 0; p < _rowCursor.Length; p++)
        {
            _rowCursor[p] = new int[Rows + 1];
        }
    }
}
