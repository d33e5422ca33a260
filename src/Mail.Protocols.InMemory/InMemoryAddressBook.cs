using System.Collections.Concurrent;
using Mail.Protocols.Addressing;
using Mail.Protocols.Users;

namespace Mail.Protocols.InMemory;

/// <summary>
/// An address book held in memory: aliases and catch-alls keyed by the normal form of the address
/// (<see cref="UserName.Normalize"/>), so any spelling of an address finds its entry. Safe to use from several threads;
/// <see cref="VirtualAliasFile"/> fills one from a Postfix virtual alias table.
/// </summary>
public sealed class InMemoryAddressBook : IAddressBook
{
    private readonly ConcurrentDictionary<string, AddressEntry> _entries = new(StringComparer.Ordinal);

    /// <summary>How many entries there are.</summary>
    public int Count => _entries.Count;

    /// <summary>Makes <paramref name="address"/> an alias of <paramref name="targets"/>, replacing what was stored under it.</summary>
    /// <exception cref="ArgumentException">The address is no <c>local@domain</c>, or a target is not a full address.</exception>
    public void AddAlias(string address, params IEnumerable<string> targets)
    {
        ArgumentNullException.ThrowIfNull(address);
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1)
        {
            throw new ArgumentException($"An alias is local@domain, got '{address}'.", nameof(address));
        }
        Add(address, AddressEntry.Alias(targets));
    }

    /// <summary>
    /// Makes <paramref name="address"/> a mailing list of <paramref name="members"/> whose copies go out from
    /// <paramref name="owner"/> (where members' bounces go), replacing what was stored under the address.
    /// </summary>
    /// <exception cref="ArgumentException">The address is no <c>local@domain</c>, the owner is the list itself, or the owner or a member is not a full address.</exception>
    public void AddList(string address, string owner, params IEnumerable<string> members)
    {
        ArgumentNullException.ThrowIfNull(address);
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1)
        {
            throw new ArgumentException($"A list is local@domain, got '{address}'.", nameof(address));
        }
        if (owner is not null && UserName.Comparer.Equals(owner, address))
        {
            // Members' bounces would go to every member, whose failures would bounce again.
            throw new ArgumentException($"A list cannot be its own owner: '{address}'.", nameof(owner));
        }
        Add(address, AddressEntry.List(owner!, members));
    }

    /// <summary>Sends mail for every address of <paramref name="domain"/> that is no user or alias to <paramref name="targets"/>.</summary>
    /// <exception cref="ArgumentException">The domain is empty or holds <c>@</c>, or a target is not a full address.</exception>
    public void SetCatchAll(string domain, params IEnumerable<string> targets)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(domain);
        if (domain.Contains('@', StringComparison.Ordinal))
        {
            throw new ArgumentException($"A catch-all is set for a domain, got '{domain}'.", nameof(domain));
        }
        Add("@" + domain, AddressEntry.Alias(targets));
    }

    /// <summary>Removes the entry stored under <paramref name="address"/> (an address, or <c>@domain</c>); false when there was none.</summary>
    public bool Remove(string address) => TryKey(address, out var key) && _entries.TryRemove(key, out _);

    /// <inheritdoc />
    public ValueTask<AddressEntry?> FindAsync(string address, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(TryKey(address, out var key) && _entries.TryGetValue(key, out var entry) ? entry : null);

    private void Add(string address, AddressEntry entry)
    {
        if (!TryKey(address, out var key))
        {
            throw new ArgumentException($"The address '{address}' is not valid Unicode.", nameof(address));
        }
        _entries[key] = entry;
    }

    // An entry's key: the address's normal form with its domain in ASCII form (an internationalised domain written
    // either way is one domain).
    private static bool TryKey(string address, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? key) =>
        UserName.TryNormalize(Addressing.DomainName.ToAsciiAddress(address), out key);
}
