using Mail.Protocols.Policy;
using Mail.Protocols.Users;

namespace Mail.Protocols.Testing;

/// <summary>
/// The test server's policy: any sender; a recipient of a local domain goes to the mailbox of that name (only a user's
/// unless any is accepted); a recipient of another domain is taken as outbound mail, from anyone, since nothing is relayed.
/// </summary>
internal sealed class AcceptingPolicy(ISet<string> localDomains, bool acceptAnyRecipient) : IRecipientPolicy
{
    /// <summary>The host's users (the host makes its directory, so it is given once the host exists).</summary>
    public IUserDirectory? Users { get; set; }

    public async ValueTask<RecipientDecision> EvaluateRecipientAsync(PolicyContext context, string address, CancellationToken cancellationToken = default)
    {
        var at = address.LastIndexOf('@');
        if (at <= 0 || !localDomains.Contains(address[(at + 1)..]))
        {
            return RecipientDecision.Relay;
        }
        if (Users is { } users && await users.FindByAddressAsync(address, cancellationToken).ConfigureAwait(false) is { } user)
        {
            return RecipientDecision.Local(user.Login);
        }
        if (!acceptAnyRecipient)
        {
            return RecipientDecision.Reject(550, "5.1.1", "No such user here");
        }
        return UserName.TryNormalize(address, out var login)
            ? RecipientDecision.Local(login)
            : RecipientDecision.Reject(553, "5.1.3", "Not a valid mailbox name");
    }

    public ValueTask<PolicyDecision> EvaluateSenderAsync(PolicyContext context, string reversePath, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(PolicyDecision.Accept);
}
