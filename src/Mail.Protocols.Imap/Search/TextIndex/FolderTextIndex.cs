using System.Buffers.Binary;
using System.Collections;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Mail.Protocols.Imap.Search.TextIndex;

/// <summary>
/// The word index of one folder under one UIDVALIDITY: every word of the messages indexed (compared as SEARCH compares text,
/// <see cref="StringComparer.OrdinalIgnoreCase"/>) with the messages that have it in their text parts and those that have it in
/// their headers. A message indexed is a document, numbered in the order indexed; a word's documents are kept ascending as
/// differences in variable-length integers. Safe for concurrent use (one lock).
/// </summary>
internal sealed class FolderTextIndex
{
    private const int HashLength = 32;
    private static ReadOnlySpan<byte> Magic => "MPTXTIX3"u8;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, WordPostings> _words = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<uint> _docUids = [];
    private readonly List<byte> _docFlags = [];
    private readonly Dictionary<uint, int> _docOfUid = [];
    private long _bytes;
    private int _version;

    public FolderTextIndex(uint uidValidity) => UidValidity = uidValidity;

    /// <summary>The folder's UIDVALIDITY the index belongs to.</summary>
    public uint UidValidity { get; }

    /// <summary>Raised with every change; what was saved is compared with it.</summary>
    public int Version
    {
        get
        {
            lock (_lock)
            {
                return _version;
            }
        }
    }

    /// <summary>The estimated memory the index holds, in octets.</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    /// <summary>How many messages are indexed (expunged ones included, until the index is cleared).</summary>
    public int DocumentCount
    {
        get
        {
            lock (_lock)
            {
                return _docUids.Count;
            }
        }
    }

    /// <summary>Whether the index is full: messages not yet indexed stay so (they are scanned).</summary>
    public bool IsFull
    {
        get
        {
            lock (_lock)
            {
                return _bytes >= TextIndexLimits.MaxFolderBytes;
            }
        }
    }

    public bool Contains(uint uid)
    {
        lock (_lock)
        {
            return _docOfUid.ContainsKey(uid);
        }
    }

    /// <summary>The document of a message and what is known of its words; false if it is not indexed.</summary>
    public bool TryGetDocument(uint uid, out int document, out WordFlags flags)
    {
        lock (_lock)
        {
            if (_docOfUid.TryGetValue(uid, out document))
            {
                flags = (WordFlags)_docFlags[document];
                return true;
            }
            flags = WordFlags.None;
            return false;
        }
    }

    /// <summary>Indexes a message; false if it already is or the index is full.</summary>
    public bool Add(uint uid, MessageWords words)
    {
        lock (_lock)
        {
            if (_bytes >= TextIndexLimits.MaxFolderBytes || _docOfUid.ContainsKey(uid))
            {
                return false;
            }
            var document = _docUids.Count;
            _docUids.Add(uid);
            _docFlags.Add((byte)words.Flags);
            _docOfUid.Add(uid, document);
            _bytes += 16;
            // (Entry adds to _bytes itself: what a list grew by is added after it, not in the same expression.)
            foreach (var word in words.Body)
            {
                var grown = Entry(word).Body.Add(document);
                _bytes += grown;
            }
            foreach (var word in words.Headers)
            {
                var grown = Entry(word).Headers.Add(document);
                _bytes += grown;
            }
            // A field's entries ("Field:word", "Field:") cannot be words (':' separates), so they share the dictionary.
            foreach (var entry in words.Fields)
            {
                var grown = Entry(entry).Headers.Add(document);
                _bytes += grown;
            }
            _version++;
            return true;
        }
    }

    /// <summary>Forgets every message (when expunged ones are most of the index).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _words.Clear();
            _docUids.Clear();
            _docFlags.Clear();
            _docOfUid.Clear();
            _bytes = 0;
            _version++;
        }
    }

    private WordPostings Entry(string word)
    {
        if (!_words.TryGetValue(word, out var entry))
        {
            entry = new WordPostings();
            _words.Add(word, entry);
            // The string, the dictionary's entry (and its share of the free slots), the postings object.
            _bytes += 32 + 2L * word.Length + 48 + 56;
        }
        return entry;
    }

    /// <summary>
    /// For each string, the documents that have a word containing it (case-insensitively, as SEARCH compares), in their text
    /// parts and in their headers: one pass over the dictionary. The arrays cover the documents indexed at this instant.
    /// </summary>
    public (BitArray Body, BitArray Headers)[] Query(IReadOnlyList<string> strings)
    {
        lock (_lock)
        {
            var count = _docUids.Count;
            var result = new (BitArray Body, BitArray Headers)[strings.Count];
            for (var s = 0; s < strings.Count; s++)
            {
                result[s] = (new BitArray(count), new BitArray(count));
            }
            foreach (var (word, postings) in _words)
            {
                for (var s = 0; s < strings.Count; s++)
                {
                    if (Matches(word, strings[s]))
                    {
                        postings.Body.Mark(result[s].Body);
                        postings.Headers.Mark(result[s].Headers);
                    }
                }
            }
            return result;
        }
    }

    /// <summary>
    /// Whether a dictionary entry answers a query string. A plain string (no ':'): a word that contains it, or a field entry
    /// whose field name or word contains it (the top-level header's line <c>Field: value</c> has the runs of the name and the
    /// words of the value as its words, and a string without separators inside the name is inside one of its runs). A field
    /// query <c>Field:s</c>: an entry of the same field (compared without case) whose word contains s (<c>Field:</c> matches
    /// the field's presence entry and every word of it).
    /// </summary>
    public static bool Matches(string entry, string query)
    {
        var q = query.IndexOf(':', StringComparison.Ordinal);
        var e = entry.IndexOf(':', StringComparison.Ordinal);
        if (q < 0)
        {
            return query.Length <= entry.Length && entry.Contains(query, StringComparison.OrdinalIgnoreCase)
                && (e < 0 || entry.AsSpan(0, e).Contains(query, StringComparison.OrdinalIgnoreCase)
                    || entry.AsSpan(e + 1).Contains(query, StringComparison.OrdinalIgnoreCase));
        }
        return e == q
            && entry.AsSpan(0, e).Equals(query.AsSpan(0, q), StringComparison.OrdinalIgnoreCase)
            && entry.AsSpan(e + 1).Contains(query.AsSpan(q + 1), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The index as a file: its content, then a SHA-256 of it (see docs/imap.md for the layout).</summary>
    public byte[] Serialize()
    {
        lock (_lock)
        {
            var output = new MemoryStream();
            output.Write(Magic);
            Span<byte> number = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(number, UidValidity);
            output.Write(number);
            WriteVarint(output, (uint)_docUids.Count);
            for (var d = 0; d < _docUids.Count; d++)
            {
                WriteVarint(output, _docUids[d]);
                output.WriteByte(_docFlags[d]);
            }
            WriteVarint(output, (uint)_words.Count);
            foreach (var (word, postings) in _words)
            {
                WriteVarint(output, (uint)word.Length);
                output.Write(MemoryMarshal.AsBytes(word.AsSpan())); // UTF-16 as it is: a word is kept exactly, even a lone surrogate
                postings.Body.Write(output);
                postings.Headers.Write(output);
            }
            var content = output.GetBuffer().AsSpan(0, (int)output.Length);
            var hash = SHA256.HashData(content);
            output.Write(hash);
            return output.ToArray();
        }
    }

    /// <summary>
    /// Reads an index file; null when it is not one of <paramref name="uidValidity"/>, its checksum is wrong, or anything in it
    /// is out of bounds: the caller then starts afresh and rebuilds.
    /// </summary>
    public static FolderTextIndex? TryLoad(ReadOnlySpan<byte> file, uint uidValidity)
    {
        if (file.Length < Magic.Length + 4 + HashLength || !file.StartsWith(Magic))
        {
            return null;
        }
        var content = file[..^HashLength];
        if (!SHA256.HashData(content).AsSpan().SequenceEqual(file[^HashLength..]))
        {
            return null;
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(content[Magic.Length..]) != uidValidity)
        {
            return null;
        }
        var index = new FolderTextIndex(uidValidity);
        var reader = new Reader(content[(Magic.Length + 4)..]);
        if (!reader.TryVarint(out var documents) || documents > (uint)reader.Remaining / 2)
        {
            return null;
        }
        for (var d = 0; d < (int)documents; d++)
        {
            if (!reader.TryVarint(out var uid) || !reader.TryByte(out var flags) || flags > (byte)WordFlags.All || !index._docOfUid.TryAdd(uid, d))
            {
                return null;
            }
            index._docUids.Add(uid);
            index._docFlags.Add(flags);
            index._bytes += 16;
        }
        if (!reader.TryVarint(out var wordCount) || wordCount > (uint)reader.Remaining)
        {
            return null;
        }
        for (var w = 0; w < (int)wordCount; w++)
        {
            if (!reader.TryVarint(out var length) || length == 0 || length > TextIndexLimits.MaxFieldNameLength + 1 + TextIndexLimits.MaxWordLength
                || !reader.TryBytes((int)length * 2, out var chars))
            {
                return null;
            }
            var word = new string(MemoryMarshal.Cast<byte, char>(chars.ToArray().AsSpan()));
            if (!IsEntry(word) || index._words.ContainsKey(word))
            {
                return null;
            }
            var entry = index.Entry(word);
            if (!entry.Body.TryRead(ref reader, (int)documents, out var bodyBytes) || !entry.Headers.TryRead(ref reader, (int)documents, out var headerBytes))
            {
                return null;
            }
            var read = bodyBytes + headerBytes;
            index._bytes += read;
        }
        if (reader.Remaining != 0)
        {
            return null;
        }
        return index;
    }

    // A word (word characters, at most MaxWordLength), or a field entry: a field name without ':' then ':' then nothing or a word.
    private static bool IsEntry(string entry)
    {
        var colon = entry.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return entry.Length <= TextIndexLimits.MaxWordLength && !WordChars.HasSeparator(entry);
        }
        var word = entry.AsSpan(colon + 1);
        return colon is > 0 and <= TextIndexLimits.MaxFieldNameLength
            && word.Length <= TextIndexLimits.MaxWordLength && !WordChars.HasSeparator(word);
    }

    private static void WriteVarint(Stream output, uint value)
    {
        while (value >= 0x80)
        {
            output.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        output.WriteByte((byte)value);
    }

    /// <summary>A word's documents in the text parts and in the headers.</summary>
    private sealed class WordPostings
    {
        public PostingList Body;
        public PostingList Headers;
    }

    /// <summary>Documents ascending, each as its difference to the one before less one, in 7-bit groups (high bit: more follow).</summary>
    private struct PostingList
    {
        private byte[]? _data;
        private int _length;
        private int _last;

        /// <summary>Adds a document above every one in the list; returns the octets the list grew by.</summary>
        public int Add(int document)
        {
            var delta = (uint)(document - (_data is null ? 0 : _last + 1));
            var grown = 0;
            if (_data is null)
            {
                _data = new byte[4];
                grown = 4 + 24;
            }
            if (_length + 5 > _data.Length)
            {
                var larger = new byte[Math.Max(_data.Length * 2, _length + 5)];
                _data.AsSpan(0, _length).CopyTo(larger);
                grown += larger.Length - _data.Length;
                _data = larger;
            }
            while (delta >= 0x80)
            {
                _data[_length++] = (byte)(delta | 0x80);
                delta >>= 7;
            }
            _data[_length++] = (byte)delta;
            _last = document;
            return grown;
        }

        public readonly void Mark(BitArray documents)
        {
            var document = -1;
            var i = 0;
            while (i < _length)
            {
                uint delta = 0;
                var shift = 0;
                byte b;
                do
                {
                    b = _data![i++];
                    delta |= (uint)(b & 0x7F) << shift;
                    shift += 7;
                }
                while ((b & 0x80) != 0);
                document += (int)delta + 1;
                if (document < documents.Length)
                {
                    documents[document] = true;
                }
            }
        }

        public readonly void Write(Stream output)
        {
            WriteVarint(output, (uint)_length);
            if (_length > 0)
            {
                output.Write(_data!, 0, _length);
            }
        }

        /// <summary>Reads a list written by <see cref="Write"/>, checking that every document is below <paramref name="documents"/>.</summary>
        public bool TryRead(ref Reader reader, int documents, out int bytes)
        {
            bytes = 0;
            if (!reader.TryVarint(out var length) || !reader.TryBytes((int)Math.Min(length, int.MaxValue), out var data))
            {
                return false;
            }
            if (length == 0)
            {
                return true;
            }
            var document = -1L;
            var i = 0;
            while (i < data.Length)
            {
                ulong delta = 0;
                var shift = 0;
                byte b;
                do
                {
                    if (i >= data.Length || shift > 28)
                    {
                        return false;
                    }
                    b = data[i++];
                    delta |= (ulong)(b & 0x7F) << shift;
                    shift += 7;
                }
                while ((b & 0x80) != 0);
                document += (long)delta + 1;
                if (document >= documents)
                {
                    return false;
                }
            }
            _data = data.ToArray();
            _length = _data.Length;
            _last = (int)document;
            bytes = _length + 24;
            return true;
        }
    }

    /// <summary>Reads the parts of an index file, never past its end.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _data = data;

        public readonly int Remaining => _data.Length;

        public bool TryByte(out byte value)
        {
            if (_data.IsEmpty)
            {
                value = 0;
                return false;
            }
            value = _data[0];
            _data = _data[1..];
            return true;
        }

        public bool TryBytes(int length, out ReadOnlySpan<byte> value)
        {
            if (length < 0 || length > _data.Length)
            {
                value = default;
                return false;
            }
            value = _data[..length];
            _data = _data[length..];
            return true;
        }

        public bool TryVarint(out uint value)
        {
            value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                if (!TryByte(out var b))
                {
                    return false;
                }
                if (shift == 28 && b > 0x0F)
                {
                    return false;
                }
                value |= (uint)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return true;
                }
            }
            return false;
        }
    }
}
