using System.Buffers;

namespace Mail.Protocols.Imap.Search.TextIndex;

/// <summary>
/// The distinct words of one message, as the word index records them: those of its text parts (what BODY searches) and those
/// of its headers, the top-level one and the MIME headers of its parts (what TEXT searches besides). A scope is incomplete
/// when a word was longer than <see cref="TextIndexLimits.MaxWordLength"/> or there were more than
/// <see cref="TextIndexLimits.MaxWordsPerMessage"/> words: a needle not found among its words must then be looked for in the
/// message itself. Words are compared as SEARCH compares text (<see cref="StringComparer.OrdinalIgnoreCase"/>).
/// </summary>
internal sealed class MessageWords
{
    public HashSet<string> Body { get; } = new(StringComparer.OrdinalIgnoreCase);

    public HashSet<string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public bool BodyIncomplete { get; set; }

    public bool HeadersIncomplete { get; set; }

    /// <summary>Reads the words of a message: its text parts and headers, decoded exactly as the scan of <see cref="SearchText"/> decodes them.</summary>
    public static async ValueTask<MessageWords> ReadAsync(Stream content, Storage.MessageSummary summary, CancellationToken cancellationToken)
    {
        var words = new MessageWords();
        var body = new WordCollector(words.Body);
        await SearchText.ReadTextPartsAsync(content, summary.Body, body, cancellationToken).ConfigureAwait(false);
        words.BodyIncomplete = body.Incomplete;

        var headers = new WordCollector(words.Headers);
        headers.Add(SearchText.HeaderText(await SearchText.ReadHeaderAsync(content, 0, summary.BodyOffset, cancellationToken).ConfigureAwait(false)));
        await foreach (var text in SearchText.PartHeaderTextsAsync(content, summary.Body, cancellationToken).ConfigureAwait(false))
        {
            if (!headers.Wants)
            {
                break;
            }
            headers.Add(text);
        }
        words.HeadersIncomplete = headers.Incomplete;
        return words;
    }

    /// <summary>Splits text into maximal runs of word characters (<see cref="WordChars"/>), also across the chunks it comes in.</summary>
    private sealed class WordCollector(HashSet<string> words) : ITextSink
    {
        // The ASCII word characters, to skip over runs of them at once.
        private static readonly SearchValues<char> s_asciiWord = SearchValues.Create("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
        private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup = words.GetAlternateLookup<ReadOnlySpan<char>>();
        private readonly char[] _word = new char[TextIndexLimits.MaxWordLength];
        private int _length;
        private bool _tooLong;

        public bool Incomplete { get; private set; }

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
            if (_length + chars.Length > _word.Length)
            {
                _tooLong = true;
                return;
            }
            chars.CopyTo(_word.AsSpan(_length));
            _length += chars.Length;
        }

        private void EndWord()
        {
            if (_tooLong)
            {
                Incomplete = true;
            }
            else if (_length > 0 && Wants)
            {
                _lookup.Add(_word.AsSpan(0, _length));
                if (!Wants)
                {
                    Incomplete = true;
                }
            }
            _length = 0;
            _tooLong = false;
        }
    }
}

/// <summary>The bounds of the word index (see docs/imap.md, "SEARCH: the word index").</summary>
internal static class TextIndexLimits
{
    /// <summary>The longest word recorded, in UTF-16 code units; a message with a longer one is verified by the scan on a miss.</summary>
    public const int MaxWordLength = 64;

    /// <summary>The most distinct words recorded per message and scope (body, headers); beyond, as for a long word.</summary>
    public const int MaxWordsPerMessage = 20_000;

    /// <summary>The estimated memory of one folder's index beyond which no further message is indexed (those are scanned).</summary>
    public const long MaxFolderBytes = 48L << 20;

    /// <summary>The longest index file read back.</summary>
    public const long MaxFileBytes = 2 * MaxFolderBytes;

    /// <summary>How many folders' indexes one store keeps in memory at most (the least recently used is dropped first).</summary>
    public const int MaxFolders = 8;

    /// <summary>The estimated memory all folders' indexes of one store keep at most.</summary>
    public const long MaxStoreBytes = 128L << 20;
}
