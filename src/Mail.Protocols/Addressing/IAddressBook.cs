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

    /// <summary>
    /// A mailing list: mail for the address is accepted for the list, then sent on to each of
    /// <see cref="AddressEntry.Targets"/> (its members) with <see cref="AddressEntry.Owner"/> as the envelope sender,
    /// so that a member who cannot be reached is reported to the owner and not to whoever wrote to the list.
    /// </summary>
    List,
}

/// <summary>One entry of an <see cref="IAddressBook"/>.</summary>
public sealed class AddressEntry
{
    private AddressEntry(AddressEntryKind kind, IReadOnlyList<string> targets, string? owner = null)
    {
        Kind = kind;
        Targets = targets;
        Owner = owner;
    }

    /// <summary>What the entry is.</summary>
    public AddressEntryKind Kind { get; }

    /// <summary>
    /// For an alias, the addresses it reaches, in order: each an address of a local domain (a user, another alias)
    /// or of another domain (forwarded through the outbound queue). Never empty. For a list, its members, each
    /// resolved in the same way when a message is sent on to them.
    /// </summary>
    public IReadOnlyList<string> Targets { get; }

    /// <summary>
    /// For a list, the address its copies are sent from (their reverse path): delivery failures of members are
    /// reported there. Null for an alias.
    /// </summary>
    public string? Owner { get; }

    /// <summary>An alias reaching <paramref name="targets"/> (at least one; each a non-empty address with a domain).</summary>
    /// <exception cref="ArgumentException">No target, or a target that is empty or has no <c>@</c>.</exception>
    public static AddressEntry Alias(params IEnumerable<string> targets) =>
        new(AddressEntryKind.Alias, FullAddresses(targets, nameof(targets), "An alias target"));

    /// <summary>
    /// A mailing list whose copies go out from <paramref name="owner"/> to <paramref name="members"/> (at least one;
    /// each a full address, local or remote, without white space).
    /// </summary>
    /// <exception cref="ArgumentException">The owner or a member is not a full address, or there is no member.</exception>
    public static AddressEntry List(string owner, params IEnumerable<string> members)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (!IsFullAddress(owner))
        {
            throw new ArgumentException($"A list owner must be a full address without white space, got '{owner}'.", nameof(owner));
        }
        return new(AddressEntryKind.List, FullAddresses(members, nameof(members), "A list member"), owner);
    }

    private static string[] FullAddresses(IEnumerable<string> addresses, string parameter, string what)
    {
        ArgumentNullException.ThrowIfNull(addresses, parameter);
        var list = addresses.ToArray();
        if (list.Length == 0)
        {
            throw new ArgumentException($"{what} is needed: there is none.", parameter);
        }
        foreach (var address in list)
        {
            if (!IsFullAddress(address))
            {
                throw new ArgumentException($"{what} must be a full address without white space, got '{address}'.", parameter);
            }
        }
        return list;
    }

    private static bool IsFullAddress(string? address)
    {
        var at = address?.LastIndexOf('@') ?? -1;
        return address is not null && at > 0 && at < address.Length - 1 && !address.Any(char.IsWhiteSpace);
    }
}
