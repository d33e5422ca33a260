using System.Buffers;

namespace Mail.Protocols.Imap.Search.TextIndex;

/// <summary>
/// The distinct words of one message, as the word index records them: those of its text parts (what BODY searches), those
/// of the MIME headers of its parts, and the fields of its top-level header (TEXT searches those two besides; HEADER the fields). Words are compared as
/// SEARCH compares text (<see cref="StringComparer.OrdinalIgnoreCase"/>).
/// </summary>
/// <remarks>
/// A run of word characters longer than <see cref="TextIndexLimits.MaxWordLength"/> is kept as overlapping pieces of that
/// length, one every <see cref="TextIndexLimits.PieceStride"/> characters, the last one ending where the run does: every
/// string of at most <see cref="TextIndexLimits.MaxExactLength"/> characters inside the run is inside one piece
/// (<see cref="WordFlags.BodyLongRuns"/>: longer strings not found must be verified). A scope with more than
/// <see cref="TextIndexLimits.MaxWordsPerMessage"/> words is incomplete: any string not found must be verified.
/// </remarks>
internal sealed class MessageWords
{
    public HashSet<string> Body { get; } = new(StringComparer.OrdinalIgnoreCase);

    public HashSet<string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The words of each field of the top-level header (what HEADER searches), as <c>Field:word</c> entries, and one
    /// <c>Field:</c> entry per field present; fields with names longer than <see cref="TextIndexLimits.MaxFieldNameLength"/> are
    /// left out (<see cref="WordFlags.FieldsIncomplete"/>).
    /// </summary>
    public HashSet<string> Fields { get; } = new(StringComparer.OrdinalIgnoreCase);

    public WordFlags Flags { get; set; }

    /// <summary>Reads the words of a message: its text parts and headers, decoded exactly as the scan of <see cref="SearchText"/> decodes them.</summary>
    public static async ValueTask<MessageWords> ReadAsync(Stream content, Storage.MessageSummary summary, CancellationToken cancellationToken)
    {
        var words = new MessageWords();
        var body = new WordCollector(words.Body);
        await SearchText.ReadTextPartsAsync(content, summary.Body, body, cancellationToken).ConfigureAwait(false);
        words.Flags |= (body.Incomplete ? WordFlags.BodyIncomplete : 0) | (body.LongRuns ? WordFlags.BodyLongRuns : 0);

        var headers = new WordCollector(words.Headers);
        var top = await SearchText.ReadHeaderAsync(content, 0, summary.BodyOffset, cancellationToken).ConfigureAwait(false);
        // The top-level header's lines ("Field: value") are recorded once, as the field entries: a plain string is in them
        // exactly when it is in a field's name or in a word of its value (FolderTextIndex.Matches), the words the line has.
        words.Flags |= ReadFields(top, words.Fields);
        await foreach (var text in SearchText.PartHeaderTextsAsync(content, summary.Body, cancellationToken).ConfigureAwait(false))
        {
            if (!headers.Wants)
            {
                break;
            }
            headers.Add(text);
        }
        words.Flags |= (headers.Incomplete ? WordFlags.HeadersIncomplete : 0) | (headers.LongRuns ? WordFlags.HeadersLongRuns : 0);
        return words;
    }

    // Each field's value as HEADER compares it (SearchText.DecodedValue), split as every other text is.
    private static WordFlags ReadFields(MimeKit.HeaderList headers, HashSet<string> fields)
    {
        var flags = WordFlags.None;
        var values = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in headers)
        {
            var field = header.Field;
            if (field.Length == 0 || field.Length > TextIndexLimits.MaxFieldNameLength || field.Contains(':', StringComparison.Ordinal))
            {
                flags |= WordFlags.FieldsIncomplete;
                continue;
            }
            if (fields.Count > TextIndexLimits.MaxWordsPerMessage)
            {
                return flags | WordFlags.FieldsIncomplete;
            }
            fields.Add(field + ":");
            values.Clear();
            var collector = new WordCollector(values);
            collector.Add(SearchText.DecodedValue(header));
            flags |= (collector.Incomplete ? WordFlags.FieldsIncomplete : 0) | (collector.LongRuns ? WordFlags.FieldsLongRuns : 0);
            foreach (var word in values)
            {
                fields.Add(field + ":" + word);
            }
        }
        return flags;
    }

    /// <summary>Splits text into maximal runs of word characters (<see cref="WordChars"/>), also across the chunks it comes in.</summary>
    private sealed class WordCollector(HashSet<string> words) : ITextSink
    {
        // The ASCII word characters, to skip over runs of them at once.
        private static readonly SearchValues<char> s_asciiWord = SearchValues.Create("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
        private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup = words.GetAlternateLookup<ReadOnlySpan<char>>();
        private readonly char[] _word = new char[TextIndexLimits.MaxWordLength];
        private int _length;
        private bool _long; // the current run is longer than a word: pieces of it were recorded

        public bool Incomplete { get; private set; }

        public bool LongRuns { get; private set; }

        // More words are of no use once there are too many: the scope is incomplete anyway.
        public bool Wants => words.Count <= TextIndexLimits.MaxWordsPerMessage;

        public void Add(string text)
        {
            Text(text);
            EndPart();
        }

        public void Text(ReadOnlySpan<char> chars)
        {
            while (!chars.IsEmpty)
            {
                var run = chars.IndexOfAnyExcept(s_asciiWord);
                if (run < 0)
                {
                    Append(chars);
                    return;
                }
                Append(chars[..run]);
                var c = chars[run];
                if (c >= 128 && WordChars.IsWord(c))
                {
                    Append(new ReadOnlySpan<char>(in c));
                }
                else
                {
                    EndWord();
                }
                chars = chars[(run + 1)..];
            }
        }

        public void EndPart() => EndWord();

        private void Append(ReadOnlySpan<char> chars)
        {
            while (!chars.IsEmpty)
            {
                if (_length == _word.Length)
                {
                    // A run longer than a word: record the piece, keep its second half to start the next one.
                    Record(_word);
                    _word.AsSpan(TextIndexLimits.PieceStride).CopyTo(_word);
                    _length = _word.Length - TextIndexLimits.PieceStride;
                    _long = true;
                }
                var take = Math.Min(_word.Length - _length, chars.Length);
                chars[..take].CopyTo(_word.AsSpan(_length));
                _length += take;
                chars = chars[take..];
            }
        }

        private void EndWord()
        {
            if (_long)
            {
                LongRuns = true;
                // The last piece ends where the run does, if the run went on after the last piece recorded.
                if (_length > _word.Length - TextIndexLimits.PieceStride)
                {
                    Record(_word.AsSpan(0, _length));
                }
            }
            else if (_length > 0)
            {
                Record(_word.AsSpan(0, _length));
            }
            _length = 0;
            _long = false;
        }

        private void Record(ReadOnlySpan<char> word)
        {
            if (Wants)
            {
                _lookup.Add(word);
                if (!Wants)
                {
                    Incomplete = true;
                }
            }
        }
    }
}

/// <summary>What is known of the words of a message beyond the words themselves.</summary>
[Flags]
internal enum WordFlags : byte
{
    None = 0,

    /// <summary>Its text parts had more words than the index keeps: a string not found there must be verified.</summary>
    BodyIncomplete = 1,

    /// <summary>Its headers had more words than the index keeps.</summary>
    HeadersIncomplete = 2,

    /// <summary>Its text parts have runs longer than a word, kept as pieces: a string longer than <see cref="TextIndexLimits.MaxExactLength"/> not found must be verified.</summary>
    BodyLongRuns = 4,

    /// <summary>Its headers have runs longer than a word.</summary>
    HeadersLongRuns = 8,

    /// <summary>Some of its top-level header's fields are not recorded (a name too long, too many words): HEADER must read it.</summary>
    FieldsIncomplete = 16,

    /// <summary>Its top-level header's field values have runs longer than a word.</summary>
    FieldsLongRuns = 32,

    All = 63,
}

/// <summary>The bounds of the word index (see docs/imap.md, "SEARCH: the word index").</summary>
internal static class TextIndexLimits
{
    /// <summary>The longest word recorded, in UTF-16 code units; a longer run is recorded as pieces of this length.</summary>
    public const int MaxWordLength = 96;

    /// <summary>How far apart the pieces of a long run start.</summary>
    public const int PieceStride = MaxWordLength / 2;

    /// <summary>The longest string whose absence the pieces of a long run prove: any such string in the run is inside one piece.</summary>
    public const int MaxExactLength = MaxWordLength - PieceStride + 1;

    /// <summary>The longest field name whose words are recorded for HEADER.</summary>
    public const int MaxFieldNameLength = 40;

    /// <summary>The most distinct words recorded per message and scope (body, headers); beyond, as for a long word.</summary>
    public const int MaxWordsPerMessage = 20_000;

    /// <summary>The estimated memory of one folder's index beyond which no further message is indexed (those are scanned).</summary>
    public const long MaxFolderBytes = 96L << 20;

    /// <summary>The longest index file read back.</summary>
    public const long MaxFileBytes = 2 * MaxFolderBytes;

    /// <summary>How many folders' indexes one store keeps in memory at most (the least recently used is dropped first).</summary>
    public const int MaxFolders = 8;

    /// <summary>The estimated memory all folders' indexes of one store keep at most.</summary>
    public const long MaxStoreBytes = 256L << 20;
}
