using Mail.Protocols.Policy;
using Mail.Protocols.Users;

namespace Mail.Protocols.Addressing;

/// <summary>
/// Resolves an address of a local domain to where its mail goes: a user's mailbox, the targets of an alias (each
/// resolved again), or the domain's catch-all. The order for one address is: the user who owns the exact address,
/// the alias under the exact address, then the same two for the address without its subaddress
/// (<c>alice+news@</c> as <c>alice@</c>, the tag kept on the mailbox destination), then postmaster@ (to
/// <see cref="RecipientPolicyOptions.PostmasterLogin"/>), then the catch-all entry <c>@domain</c>.
/// </summary>
/// <remarks>
/// <para>
/// A loop (an address that reappears inside its own expansion) refuses the recipient with <c>550 5.4.6</c>
/// (RFC 3463 "routing loop detected"), as does nesting deeper than <see cref="AddressingOptions.MaxAliasDepth"/>:
/// a loop is a mistake in the configuration, and delivering part of it would hide the mistake. An address reached
/// twice by different paths (a → b, c; b → d; c → d) is no loop; it is delivered once.
/// </para>
/// <para>
/// Copies collapse: each local user appears once among the destinations (the first path to reach the user decides
/// the subaddress), each remote address once. A target that resolves to nothing (an unknown local address with no
/// catch-all) is skipped, so one stale member does not refuse mail for the rest; a recipient whose expansion
/// reaches nothing at all is unknown (<c>550 5.1.1</c>). More than <see cref="AddressingOptions.MaxDestinations"/>
/// destinations or <see cref="AddressingOptions.MaxLookups"/> lookups refuse the recipient with <c>550 5.5.3</c>.
/// </para>
/// </remarks>
public sealed class RecipientResolver
{
    private readonly RecipientPolicyOptions _options;
    private readonly IUserDirectory _users;
    private readonly IAddressBook? _addressBook;
    private readonly SenderRewriter? _senderRewriter;

    /// <summary>Creates a resolver over the local domains and addressing options of <paramref name="options"/>.</summary>
    /// <param name="options">The local domains, the postmaster and <see cref="RecipientPolicyOptions.Addressing"/>.</param>
    /// <param name="users">The users, found by address.</param>
    /// <param name="addressBook">The aliases and catch-alls; null when there are none.</param>
    /// <param name="senderRewriter">
    /// When forwards are sent with rewritten senders (SRS), the rewriter: an SRS address of its domain (a bounce
    /// coming back for a forwarded copy) resolves to the sender it encodes; null: no such addresses.
    /// </param>
    public RecipientResolver(RecipientPolicyOptions options, IUserDirectory users, IAddressBook? addressBook = null, SenderRewriter? senderRewriter = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(users);
        _options = options;
        _users = users;
        _addressBook = addressBook;
        _senderRewriter = senderRewriter;
    }

    /// <summary>
    /// Resolves <paramref name="address"/> (local part, <c>@</c>, a local domain): <see cref="RecipientRoute.Local"/>
    /// for exactly one mailbox without subaddress, <see cref="RecipientRoute.Expanded"/> for anything else that
    /// reaches somewhere, or a refusal (<c>550 5.1.1</c> unknown, <c>550 5.4.6</c> loop or too deep,
    /// <c>550 5.5.3</c> too wide).
    /// </summary>
    public async ValueTask<RecipientDecision> ResolveAsync(string address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        // The common case, a user's own address, costs one lookup and nothing else.
        if (await _users.FindByAddressAsync(address, cancellationToken).ConfigureAwait(false) is { } user)
        {
            return RecipientDecision.Local(user.Login);
        }
        var walk = new Walk();
        var step = await VisitAsync(walk, address, 0, cancellationToken, noSuchUser: true).ConfigureAwait(false);
        if (step == Step.Refused)
        {
            return new RecipientDecision(RecipientRoute.Rejected, Rejection: walk.Refusal);
        }
        if (walk.Destinations.Count == 0)
        {
            return RecipientDecision.Reject(550, "5.1.1", "Recipient address rejected: user unknown");
        }
        return walk.Destinations is [{ LocalUser: { } login, Subaddress: null }]
            ? RecipientDecision.Local(login)
            : RecipientDecision.Expanded(walk.Destinations);
    }

    private enum Step
    {
        Resolved,
        Unknown,
        Refused,
    }

    private sealed class Walk
    {
        public readonly List<RecipientDestination> Destinations = [];
        public readonly HashSet<string> LocalUsers = new(UserName.Comparer);
        public readonly HashSet<string> RemoteAddresses = new(StringComparer.Ordinal);
        public readonly HashSet<string> Path = new(StringComparer.Ordinal);  // keys of the aliases being expanded
        public readonly HashSet<string> Done = new(StringComparer.Ordinal);  // keys resolved completely: visiting again adds nothing
        public int Lookups;
        public PolicyRejection? Refusal;
    }

    // noSuchUser: the caller has looked the address up in the user directory already and found nobody.
    private async ValueTask<Step> VisitAsync(Walk walk, string address, int depth, CancellationToken cancellationToken, bool noSuchUser = false)
    {
        var at = address.LastIndexOf('@');
        var domain = address[(at + 1)..];
        if (at <= 0 || !_options.LocalDomains.Contains(domain))
        {
            return AddRemote(walk, address, at);
        }
        if (!UserName.TryNormalize(address, out var key))
        {
            return Step.Unknown; // not valid Unicode: no user or entry can have it
        }
        if (walk.Path.Contains(key))
        {
            return Refuse(walk, 550, "5.4.6", "Recipient address rejected: alias loop detected");
        }
        if (walk.Done.Contains(key))
        {
            return Step.Resolved; // reached before by another path; its destinations are in already
        }
        if (++walk.Lookups > _options.Addressing.MaxLookups)
        {
            return Refuse(walk, 550, "5.5.3", "Recipient address rejected: alias expands too widely");
        }

        var step = await ResolveLocalAsync(walk, address, at, domain, key, depth, noSuchUser, cancellationToken).ConfigureAwait(false);
        if (step != Step.Refused)
        {
            walk.Done.Add(key);
        }
        return step;
    }

    private async ValueTask<Step> ResolveLocalAsync(Walk walk, string address, int at, string domain, string key, int depth, bool noSuchUser, CancellationToken cancellationToken)
    {
        var found = await LookUpAsync(walk, address, key, subaddress: null, depth, cancellationToken, noSuchUser).ConfigureAwait(false);
        if (found != Step.Unknown)
        {
            return found;
        }

        var localPart = address[..at];
        if (_senderRewriter is { } srs && SenderRewriter.LooksRewritten(localPart) && DomainName.Comparer.Equals(domain, srs.Domain))
        {
            // A bounce for a copy we forwarded: it goes to the sender the address encodes. A forged, altered or
            // expired one is refused, never caught by a catch-all, so the address cannot be used to relay.
            return srs.TryReverse(address, out var original, out _)
                ? await VisitAsync(walk, original, depth + 1, cancellationToken).ConfigureAwait(false)
                : Refuse(walk, 550, "5.1.1", "Recipient address rejected: invalid or expired forwarding address");
        }
        if (_options.Addressing.UsesSubaddresses(domain) && !localPart.StartsWith('"')
            && localPart.IndexOf(_options.Addressing.SubaddressSeparator!.Value) is > 0 and var separator)
        {
            var baseAddress = string.Concat(localPart.AsSpan(0, separator), "@", domain);
            if (UserName.TryNormalize(baseAddress, out var baseKey))
            {
                if (walk.Path.Contains(baseKey))
                {
                    return Refuse(walk, 550, "5.4.6", "Recipient address rejected: alias loop detected");
                }
                found = await LookUpAsync(walk, baseAddress, baseKey, localPart[(separator + 1)..], depth, cancellationToken).ConfigureAwait(false);
                if (found != Step.Unknown)
                {
                    return found;
                }
            }
        }

        if (string.Equals(localPart, "postmaster", StringComparison.OrdinalIgnoreCase) && _options.PostmasterLogin is { } postmaster)
        {
            return AddLocal(walk, postmaster, null);
        }

        if (_addressBook is not null)
        {
            var catchAllKey = "@" + domain.ToLowerInvariant();
            if (walk.Path.Contains(catchAllKey))
            {
                // The catch-all's own expansion reached an unknown address of its domain: that is no loop, only
                // a target that does not exist (the catch-all does not catch its own targets).
                return Step.Unknown;
            }
            if (walk.Done.Contains(catchAllKey))
            {
                return Step.Resolved;
            }
            if (await _addressBook.FindAsync("@" + domain, cancellationToken).ConfigureAwait(false) is { } catchAll)
            {
                return await ExpandAsync(walk, catchAll, "@" + domain, catchAllKey, depth, cancellationToken).ConfigureAwait(false);
            }
        }
        return Step.Unknown;
    }

    // The user who owns the address, else the alias stored under it.
    private async ValueTask<Step> LookUpAsync(Walk walk, string address, string key, string? subaddress, int depth, CancellationToken cancellationToken, bool noSuchUser = false)
    {
        if (!noSuchUser && await _users.FindByAddressAsync(address, cancellationToken).ConfigureAwait(false) is { } user)
        {
            return AddLocal(walk, user.Login, subaddress);
        }
        if (_addressBook is not null && await _addressBook.FindAsync(address, cancellationToken).ConfigureAwait(false) is { } entry)
        {
            // An alias reached through a subaddress passes the tag on to its local targets (sales+q3@ → bob+q3@).
            var tag = _options.Addressing.PropagateSubaddress ? subaddress : null;
            return await ExpandAsync(walk, entry, address, key, depth, cancellationToken, tag).ConfigureAwait(false);
        }
        return Step.Unknown;
    }

    private async ValueTask<Step> ExpandAsync(Walk walk, AddressEntry entry, string address, string key, int depth, CancellationToken cancellationToken, string? tag = null)
    {
        if (entry.Kind == AddressEntryKind.List)
        {
            // A list is one destination: its members are resolved when the message is sent on to them, each with
            // the list's owner as sender, so that a member's failure is the owner's to hear about.
            if (entry.Targets.Count > _options.Addressing.MaxListMembers)
            {
                return Refuse(walk, 550, "5.5.3", "Recipient address rejected: list has too many members");
            }
            // Reached again (through an alias, or as a subaddress of itself), it is still one destination.
            return walk.Done.Add(key) ? AddDestination(walk, RecipientDestination.ToList(new MailingList(address, entry.Owner!, entry.Targets))) : Step.Resolved;
        }
        if (depth >= _options.Addressing.MaxAliasDepth)
        {
            return Refuse(walk, 550, "5.4.6", "Recipient address rejected: aliases nested too deeply");
        }
        walk.Path.Add(key);
        foreach (var target in entry.Targets)
        {
            var tagged = tag is null ? target : WithSubaddress(target, tag);
            if (await VisitAsync(walk, tagged, depth + 1, cancellationToken).ConfigureAwait(false) == Step.Refused)
            {
                return Step.Refused;
            }
        }
        walk.Path.Remove(key);
        walk.Done.Add(key);
        return Step.Resolved;
    }

    // The target with the tag appended, when the target is in a local domain that reads subaddresses and has no tag
    // of its own; else the target as it is (a remote domain's separator is not ours to guess, and postmaster@ is
    // matched whole, RFC 5321 §4.5.1).
    private string WithSubaddress(string target, string tag)
    {
        var at = target.LastIndexOf('@');
        var domain = target[(at + 1)..];
        var separator = _options.Addressing.SubaddressSeparator;
        if (at <= 0 || separator is not { } c || !_options.LocalDomains.Contains(domain) || !_options.Addressing.UsesSubaddresses(domain)
            || target[0] == '"' || target.AsSpan(0, at).Contains(c) || target.AsSpan(0, at).Equals("postmaster", StringComparison.OrdinalIgnoreCase))
        {
            return target;
        }
        return string.Concat(target.AsSpan(0, at), c.ToString(), tag, target.AsSpan(at));
    }

    private Step AddLocal(Walk walk, string login, string? subaddress) =>
        walk.LocalUsers.Add(login) ? AddDestination(walk, RecipientDestination.Mailbox(login, subaddress)) : Step.Resolved;

    private Step AddDestination(Walk walk, RecipientDestination destination)
    {
        if (walk.Destinations.Count >= _options.Addressing.MaxDestinations)
        {
            return Refuse(walk, 550, "5.5.3", "Recipient address rejected: alias expands to too many destinations");
        }
        walk.Destinations.Add(destination);
        return Step.Resolved;
    }

    private Step AddRemote(Walk walk, string address, int at)
    {
        if (at <= 0 || at == address.Length - 1)
        {
            return Step.Unknown; // not an address an alias could forward to (entries are checked when made)
        }
        // The local part is the remote host's to interpret (RFC 5321 §2.4), so only the domain's case is folded.
        return walk.RemoteAddresses.Add(string.Concat(address.AsSpan(0, at + 1), address[(at + 1)..].ToLowerInvariant()))
            ? AddDestination(walk, RecipientDestination.Forward(address))
            : Step.Resolved;
    }

    private static Step Refuse(Walk walk, int code, string enhancedCode, string text)
    {
        walk.Refusal = new PolicyRejection(code, enhancedCode, text);
        return Step.Refused;
    }
}
