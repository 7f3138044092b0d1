using System.Numerics;
using MnistNet.Data;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// A mini-batch of mostly-zero inputs kept as each column's non-zeros (row index, value), in a buffer reused from
/// batch to batch: column j's entries are [ColumnStart[j], ColumnStart[j + 1]) with rows increasing.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
internal sealed class SparseBatch<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _scale = new T[256];

    public SparseBatch(int rows, int capacity)
    {
        Rows = rows;
        ColumnStart = new int[capacity + 1];
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

    /// <summary>Gathers the images at <paramref name="indices"/> (already validated) from <paramref name="data"/>'s sparse index.</summary>
    public void Gather(Dataset data, ReadOnlySpan<int> indices)
    {
        SparseImages index = data.SparseIndex;
        int e = 0;
        for (int b = 0; b < indices.Length; b++)
        {
            ColumnStart[b] = e;
            int i = indices[b];
            int s = index.Start[i];
            int n = index.Start[i + 1] - s;
            index.Pixel.AsSpan(s, n).CopyTo(RowIndex.AsSpan(e, n));
            ReadOnlySpan<byte> bytes = index.Value.AsSpan(s, n);
            Span<T> values = Values.AsSpan(e, n);
            for (int k = 0; k < n; k++)
            {
                values[k] = _scale[bytes[k]];
            }

            e += n;
        }

        ColumnStart[indices.Length] = e;
        Columns = indices.Length;
        GroupByRow();
    }

    /// <summary>Builds the by-row layout from the by-column one (a counting sort; columns stay in increasing order within a row).</summary>
    private void GroupByRow()
    {
        if (RowStart.Length != Rows + 1)
        {
            RowStart = new int[Rows + 1];
            RowColumn = new int[Values.Length];
            RowValue = new T[Values.Length];
        }

        Span<int> start = RowStart;
        start.Clear();
        int total = ColumnStart[Columns];
        ReadOnlySpan<ushort> rows = RowIndex.AsSpan(0, total);
        foreach (ushort r in rows)
        {
            start[r + 1]++;
        }

        for (int k = 0; k < Rows; k++)
        {
            start[k + 1] += start[k];
        }

        // Fill from each row's start, walking the columns in order; start[k] ends at row k's end, then shift back.
        for (int j = 0; j < Columns; j++)
        {
            for (int e = ColumnStart[j], end = ColumnStart[j + 1]; e < end; e++)
            {
                int at = start[RowIndex[e]]++;
                RowColumn[at] = j;
                RowValue[at] = Values[e];
            }
        }

        for (int k = Rows; k > 0; k--)
        {
            start[k] = start[k - 1];
        }

        start[0] = 0;
    }
}
