namespace Mail.Protocols.Addressing;

/// <summary>
/// The addresses of local domains that are not users' own: aliases that forward to one or more other addresses,
/// and each domain's catch-all. An application implements it over its own backend (a table, a file, a directory
/// service); users and their mailboxes stay in <see cref="Users.IUserDirectory"/>. <see cref="RecipientResolver"/>
/// consults it for every RCPT TO address on a local domain that is not a user's (docs/addressing.md).
/// </summary>
public interface IAddressBook
{
    /// <summary>
    /// Finds the entry stored under <paramref name="address"/>, or null when there is none. The key is a full
    /// address (<c>sales@example.test</c>) or, for a domain's catch-all, <c>@</c> followed by the domain
    /// (<c>@example.test</c>). Keys compare as logins do (<see cref="Users.UserName.Normalize"/>: NFKC, then lower
    /// case), so any spelling of the local part and domain finds the same entry.
    /// </summary>
    ValueTask<AddressEntry?> FindAsync(string address, CancellationToken cancellationToken = default);
}

/// <summary>What an <see cref="AddressEntry"/> is.</summary>
public enum AddressEntryKind
{
    /// <summary>An alias: mail for the address goes to each of <see cref="AddressEntry.Targets"/>, which are resolved in turn.</summary>
    Alias,
}

/// <summary>One entry of an <see cref="IAddressBook"/>.</summary>
public sealed class AddressEntry
{
    private AddressEntry(AddressEntryKind kind, IReadOnlyList<string> targets)
    {
        Kind = kind;
        Targets = targets;
    }

    /// <summary>What the entry is.</summary>
    public AddressEntryKind Kind { get; }

    /// <summary>
    /// For an alias, the addresses it reaches, in order: each an address of a local domain (a user, another alias)
    /// or of another domain (forwarded through the outbound queue). Never empty.
    /// </summary>
    public IReadOnlyList<string> Targets { get; }

    /// <summary>An alias reaching <paramref name="targets"/> (at least one; each a non-empty address with a domain).</summary>
    /// <exception cref="ArgumentException">No target, or a target that is empty or has no <c>@</c>.</exception>
    public static AddressEntry Alias(params IEnumerable<string> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var list = targets.ToArray();
        if (list.Length == 0)
        {
            throw new ArgumentException("An alias needs at least one target.", nameof(targets));
        }
        foreach (var target in list)
        {
            var at = target?.LastIndexOf('@') ?? -1;
            if (target is null || at <= 0 || at == target.Length - 1 || target.Any(char.IsWhiteSpace))
            {
                throw new ArgumentException($"An alias target must be a full address without white space, got '{target}'.", nameof(targets));
            }
        }
        return new AddressEntry(AddressEntryKind.Alias, list);
    }
}
