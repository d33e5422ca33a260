namespace Mail.Protocols.Addressing;

/// <summary>
/// How <see cref="RecipientResolver"/> reads addresses of local domains: subaddresses, and the bounds on alias
/// expansion. Part of <see cref="Policy.RecipientPolicyOptions"/>; docs/addressing.md explains each rule.
/// </summary>
public sealed class AddressingOptions
{
    private char? _separator = '+';
    private int _maxAliasDepth = 10;
    private int _maxDestinations = 100;
    private int _maxLookups = 1000;
    private int _maxListMembers = 1000;

    /// <summary>
    /// The character that separates a subaddress from the user part (<c>alice+news@example.test</c> reaches
    /// alice@example.test with the tag <c>news</c>). Defaults to <c>+</c> (RFC 5233's detail separator, as in
    /// Postfix, Dovecot and Sieve); null switches subaddresses off. A printable ASCII character other than
    /// <c>@</c>, <c>"</c> and <c>\</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A character that could not separate a local part.</exception>
    public char? SubaddressSeparator
    {
        get => _separator;
        set
        {
            if (value is { } c && (c is <= ' ' or > '~' or '@' or '"' or '\\'))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The separator must be printable ASCII other than '@', '\"' and '\\'.");
            }
            _separator = value;
        }
    }

    /// <summary>
    /// Whether an alias reached through a subaddress passes the tag on to its targets in local domains that read
    /// subaddresses and that have no tag of their own: with <c>sales@</c> an alias of <c>bob@</c>, mail for
    /// <c>sales+q3@</c> reaches bob with the tag <c>q3</c> (filed into his folder q3 if he has one). Remote targets
    /// and lists never get the tag. Defaults to true, as Postfix's <c>propagate_unmatched_extensions</c> does for
    /// virtual aliases.
    /// </summary>
    public bool PropagateSubaddress { get; set; } = true;

    /// <summary>Local domains in which the separator is an ordinary character of the local part (no subaddresses). Compared case-insensitively; empty by default.</summary>
    public ISet<string> DomainsWithoutSubaddresses { get; } = new HashSet<string>(DomainName.Comparer);

    /// <summary>
    /// How many aliases may be expanded one inside another on the way from a recipient to a destination (an alias
    /// whose target is an alias is two). Defaults to 10; one more is answered <c>550 5.4.6</c>, as a loop is.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxAliasDepth
    {
        get => _maxAliasDepth;
        set => _maxAliasDepth = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least 1.");
    }

    /// <summary>
    /// How many destinations (distinct local users and remote addresses) one recipient may expand to. Defaults to
    /// 100, the default recipient limit of a transaction; beyond it the recipient is refused with <c>550 5.5.3</c>.
    /// The limit is per recipient and does not count against <c>MaxRecipients</c>, which counts RCPT commands.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxDestinations
    {
        get => _maxDestinations;
        set => _maxDestinations = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least 1.");
    }

    /// <summary>
    /// How many addresses of local domains one recipient may cost to look up (each a user and an alias lookup).
    /// Bounds the work of a wide alias graph whose destinations repeat. Defaults to 1,000; beyond it the recipient
    /// is refused with <c>550 5.5.3</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxLookups
    {
        get => _maxLookups;
        set => _maxLookups = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least 1.");
    }

    /// <summary>
    /// How many members a mailing list may have. Each message to a list is sent on to every member before the server
    /// answers 250, so this bounds the work one message costs (and the length of an EXPN answer). Defaults to 1,000;
    /// mail to a larger list is refused with <c>550 5.5.3</c> (a list manager above this library serves bigger ones).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int MaxListMembers
    {
        get => _maxListMembers;
        set => _maxListMembers = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "At least 1.");
    }

    /// <summary>Whether subaddresses are read in <paramref name="domain"/>.</summary>
    public bool UsesSubaddresses(string domain) => _separator is not null && !DomainsWithoutSubaddresses.Contains(domain);
}
