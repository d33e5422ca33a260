namespace Mail.Protocols.Addressing;

/// <summary>
/// Settings of a <see cref="SenderRewriter"/>: the secret that signs rewritten addresses, the forwarder's own domain,
/// and how long a rewritten address stays valid. <see cref="SenderRewriter"/> copies them when it is built, so later
/// changes do not affect an existing rewriter. docs/addressing.md ("Sender Rewriting (SRS)") describes the scheme.
/// </summary>
public sealed class SenderRewritingOptions
{
    /// <summary>The shortest secret accepted, in octets: 128 bits, so the key cannot be guessed from collected addresses.</summary>
    public const int MinSecretLength = 16;

    /// <summary>The shortest hash accepted, in base64 characters (24 bits), as libsrs2 and postsrsd use by default.</summary>
    public const int MinHashLength = 4;

    /// <summary>The longest hash, in base64 characters: the whole 160-bit HMAC-SHA1 less the padding.</summary>
    public const int MaxHashLength = 27;

    private byte[]? _secret;
    private string? _domain;
    private int _hashLength = MinHashLength;
    private TimeSpan _maxAge = TimeSpan.FromDays(21);
    private char _separator = '=';

    /// <summary>
    /// The key of the HMAC-SHA1 that signs every rewritten address; required, at least <see cref="MinSecretLength"/>
    /// octets. Every forwarder that must reverse the addresses of another needs the same secret. To share a key with
    /// postsrsd or libsrs2, pass the UTF-8 bytes of its secret line.
    /// </summary>
    /// <exception cref="ArgumentNullException">Null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Shorter than <see cref="MinSecretLength"/> octets.</exception>
    public byte[]? Secret
    {
        get => _secret;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _secret = value.Length >= MinSecretLength ? value : throw new ArgumentOutOfRangeException(nameof(value), value.Length, $"The secret must be at least {MinSecretLength} octets.");
        }
    }

    /// <summary>
    /// Secrets that no longer sign but still verify, so that bounces to addresses signed before a key change are
    /// routed until they expire. Empty by default; each must be at least <see cref="MinSecretLength"/> octets.
    /// </summary>
    public IList<byte[]> RetiredSecrets { get; } = [];

    /// <summary>
    /// The forwarder's domain, written on the right of the <c>@</c> of every rewritten address, so SPF is checked
    /// against it. Required; stored in lower case. Reverse paths already in this domain are not rewritten.
    /// </summary>
    /// <exception cref="ArgumentException">Empty, or not a plausible domain (white space, control characters, <c>@</c>, quotes).</exception>
    public string? Domain
    {
        get => _domain;
        set
        {
            ArgumentException.ThrowIfNullOrEmpty(value);
            foreach (var c in value)
            {
                if (c <= ' ' || c == '\u007f' || c is '@' or '"' or '\\' or '<' or '>')
                {
                    throw new ArgumentException("Not a domain: " + value, nameof(value));
                }
            }
            _domain = value.ToLowerInvariant();
        }
    }

    /// <summary>
    /// How many base64 characters of the HMAC are written into an address. Defaults to 4 (24 bits), the length libsrs2
    /// and postsrsd write; between <see cref="MinHashLength"/> and <see cref="MaxHashLength"/>. A received hash longer
    /// than this is checked on its first characters only, as libsrs2 does, so shortening the setting keeps older
    /// addresses valid; lengthening it invalidates them.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside 4 to 27.</exception>
    public int HashLength
    {
        get => _hashLength;
        set => _hashLength = value is >= MinHashLength and <= MaxHashLength ? value : throw new ArgumentOutOfRangeException(nameof(value), value, $"Between {MinHashLength} and {MaxHashLength}.");
    }

    /// <summary>
    /// How long a rewritten address can be reversed. Defaults to 21 days, as libsrs2 and postsrsd. The timestamp counts
    /// whole days, so the value is cut to whole days; at least 1 day and less than 1024 days (the timestamp wraps then).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Under 1 day, or 1024 days or more.</exception>
    public TimeSpan MaxAge
    {
        get => _maxAge;
        set => _maxAge = value >= TimeSpan.FromDays(1) && value < TimeSpan.FromDays(1024) ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least 1 day and under 1024 days.");
    }

    /// <summary>
    /// The character written after <c>SRS0</c> or <c>SRS1</c>: <c>=</c> (the default), <c>+</c> or <c>-</c>. Reversal
    /// accepts all three whatever this is.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Another character.</exception>
    public char Separator
    {
        get => _separator;
        set => _separator = value is '=' or '+' or '-' ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "One of '=', '+' and '-'.");
    }
}
