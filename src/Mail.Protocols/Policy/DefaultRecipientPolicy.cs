using System.Net;
using Mail.Protocols.Addressing;
using Mail.Protocols.Users;

namespace Mail.Protocols.Policy;

/// <summary>
/// The default policy: mail for local domains goes where <see cref="RecipientResolver"/> resolves the address (the
/// user who owns it, an alias's targets, a subaddress's user, postmaster@ of every local domain to
/// <see cref="RecipientPolicyOptions.PostmasterLogin"/>, the domain's catch-all); mail for other domains is relayed
/// only for authenticated or trusted clients. An alias that forwards to another domain is open to every client:
/// the forward is the local operator's decision, not the client's. Authenticated clients may use only their own addresses in
/// MAIL FROM unless <see cref="RecipientPolicyOptions.AllowAnySenderWhenAuthenticated"/> is set.
/// </summary>
public sealed class DefaultRecipientPolicy : IRecipientPolicy
{
    private readonly RecipientPolicyOptions _options;
    private readonly RecipientResolver _resolver;

    /// <summary>Creates the policy over users only (no aliases or catch-alls).</summary>
    public DefaultRecipientPolicy(RecipientPolicyOptions options, IUserDirectory users)
        : this(options, users, null)
    {
    }

    /// <summary>Creates the policy over users and the aliases and catch-alls of <paramref name="addressBook"/> (null: none).</summary>
    public DefaultRecipientPolicy(RecipientPolicyOptions options, IUserDirectory users, IAddressBook? addressBook)
        : this(options, users, addressBook, null)
    {
    }

    /// <summary>
    /// Creates the policy over users, the entries of <paramref name="addressBook"/> (null: none) and, when
    /// <paramref name="senderRewriter"/> is given, the SRS addresses of its domain that bounces for forwarded copies
    /// come back to (docs/addressing.md, "Sender Rewriting").
    /// </summary>
    public DefaultRecipientPolicy(RecipientPolicyOptions options, IUserDirectory users, IAddressBook? addressBook, SenderRewriter? senderRewriter)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(users);
        _options = options;
        _resolver = new RecipientResolver(options, users, addressBook, senderRewriter);
    }

    /// <inheritdoc />
    public async ValueTask<RecipientDecision> EvaluateRecipientAsync(PolicyContext context, string address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(address);
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1)
        {
            // RFC 5321 §4.1.1.3: only "postmaster" may be used without a domain.
            if (string.Equals(address, "postmaster", StringComparison.OrdinalIgnoreCase))
            {
                // Valid syntax; without a postmaster configured it is a mailbox that does not exist here.
                return _options.PostmasterLogin is { } pm
                    ? RecipientDecision.Local(pm)
                    : RecipientDecision.Reject(550, "5.1.1", "Recipient address rejected: no postmaster here");
            }
            return RecipientDecision.Reject(501, "5.1.3", "Bad recipient address syntax");
        }

        var domain = address[(at + 1)..];
        if (IsLocalDomain(domain))
        {
            return await _resolver.ResolveAsync(address, cancellationToken).ConfigureAwait(false);
        }

        if (context.AuthenticatedUser is not null || IsTrusted(context.RemoteEndPoint))
        {
            return RecipientDecision.Relay;
        }
        return RecipientDecision.Reject(554, "5.7.1", "Relay access denied");
    }

    /// <inheritdoc />
    public ValueTask<PolicyDecision> EvaluateSenderAsync(PolicyContext context, string reversePath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(reversePath);
        if (context.AuthenticatedUser is { } user && !_options.AllowAnySenderWhenAuthenticated
            && reversePath.Length > 0 && !user.OwnsAddress(reversePath))
        {
            return ValueTask.FromResult(PolicyDecision.Reject(553, "5.7.1", "Sender address not owned by the authenticated user"));
        }
        return ValueTask.FromResult(PolicyDecision.Accept);
    }

    /// <summary>The local domains (VRFY looks a bare local part up in each of them).</summary>
    public IEnumerable<string> LocalDomains => _options.LocalDomains;

    /// <summary>Whether <paramref name="domain"/> is one of the local domains (case-insensitive).</summary>
    public bool IsLocalDomain(string domain) => _options.LocalDomains.Contains(domain);

    private bool IsTrusted(IPEndPoint? remote)
    {
        if (remote is null)
        {
            return false;
        }
        var address = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        foreach (var network in _options.TrustedNetworks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>Settings of <see cref="DefaultRecipientPolicy"/>.</summary>
public sealed class RecipientPolicyOptions
{
    /// <summary>The domains whose mail is delivered locally. Compared case-insensitively.</summary>
    public ISet<string> LocalDomains { get; } = new HashSet<string>(Mail.Protocols.Addressing.DomainName.Comparer);

    /// <summary>Networks whose clients may relay without authenticating. Empty by default: nobody relays unauthenticated.</summary>
    public IList<IPNetwork> TrustedNetworks { get; } = [];

    /// <summary>The login that receives postmaster@ of every local domain (RFC 5321 §4.5.1). Null: postmaster is handled like any address.</summary>
    public string? PostmasterLogin { get; set; }

    /// <summary>Let authenticated clients use any MAIL FROM address. Defaults to false: only their own addresses.</summary>
    public bool AllowAnySenderWhenAuthenticated { get; set; }

    /// <summary>Subaddresses and the bounds on alias expansion in the local domains (docs/addressing.md).</summary>
    public AddressingOptions Addressing
    {
        get;
        set => field = value ?? throw new ArgumentNullException(nameof(value));
    } = new();
}
