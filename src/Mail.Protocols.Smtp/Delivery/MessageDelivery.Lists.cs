using System.Globalization;
using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Users;

namespace Mail.Protocols.Smtp.Delivery;

// Mailing lists: the copies a list sends on to its members (docs/addressing.md, "Mailing lists").
internal sealed partial class MessageDelivery
{
    /// <summary>
    /// Sends the message on to a list's members: each member is resolved through the recipient policy; local
    /// mailboxes get their copy now, remote members one queue entry whose reverse path is the list's owner, so their
    /// bounces go there. Members that cannot be reached now (unknown, mailbox full, a list loop) are reported to the
    /// owner in one failure notice, sent once the whole message is in; the message stays accepted for the list and
    /// for its other members.
    /// </summary>
    private async ValueTask SendToListAsync(Run run, QueueEnvelope envelope, MailingList list, Stream content, CancellationToken cancellationToken)
    {
        if (lists is null)
        {
            SmtpLog.ListNotExpanded(logger, run.QueueId, Mail.Protocols.Telemetry.PersonalData.ForLog(list.Address));
            run.Report?.Add($"<{list.Address}> is a list, not expanded here");
            return;
        }
        var key = ListKey(list.Address);
        if (!run.ListsDone.Add(key))
        {
            run.Report?.Add($"<{list.Address}> list already sent on for this message");
            return;
        }
        run.ListPath.Add(key);
        // A new envelope: the list is the sender now, so the owner gets the members' failures and delays (the default
        // NOTIFY); the writer's DSN requests end at the list. A bounce written to a list keeps the null reverse path,
        // so that a member's failure cannot bounce it again.
        var sender = envelope.ReversePath.Length == 0 ? "" : list.Owner;
        var listEnvelope = envelope with { ReversePath = sender, Recipients = [], EnvelopeId = null, Return = DsnReturn.Unspecified };
        run.Report?.Add(string.Create(CultureInfo.InvariantCulture, $"<{list.Address}> list: sent on to {list.Members.Count} member(s) from <{sender}>"));
        var remote = new List<QueueRecipient>();
        var failed = new List<RecipientStatus>();
        foreach (var member in list.Members)
        {
            var recipient = new QueueRecipient(member);
            var decision = await lists.ResolveMemberAsync(member, cancellationToken).ConfigureAwait(false);
            switch (decision.Route)
            {
                case RecipientRoute.Rejected:
                    var refusal = decision.Rejection!;
                    failed.Add(new RecipientStatus(recipient, RecipientState.Failed, string.Create(CultureInfo.InvariantCulture, $"{refusal.Code} {refusal.EnhancedCode} {refusal.Text}")));
                    continue;
                case RecipientRoute.Relay:
                    AddRemote(recipient);
                    continue;
            }
            if (run.Report is not null && decision.Destinations.Count > 1)
            {
                run.Report.Add(string.Create(CultureInfo.InvariantCulture, $"<{member}> expanded to {decision.Destinations.Count} destinations"));
            }
            foreach (var destination in decision.Destinations)
            {
                if (destination.ForwardTo is { } target)
                {
                    AddRemote(recipient with { Address = target });
                }
                else if (destination.List is { } inner)
                {
                    if (run.ListPath.Contains(ListKey(inner.Address)))
                    {
                        failed.Add(new RecipientStatus(recipient, RecipientState.Failed, $"550 5.4.6 <{member}> is a list that contains {list.Address}: list loop"));
                    }
                    else if (run.ListPath.Count >= ListDelivery.MaxNesting)
                    {
                        failed.Add(new RecipientStatus(recipient, RecipientState.Failed, $"550 5.4.6 <{member}> is a list nested too deeply"));
                    }
                    else
                    {
                        await SendToListAsync(run, listEnvelope, inner, content, cancellationToken).ConfigureAwait(false);
                    }
                }
                else if (await StoreOnceAsync(run, member, destination, content, cancellationToken).ConfigureAwait(false) is { } full)
                {
                    failed.Add(new RecipientStatus(recipient, RecipientState.Failed, MailboxFullReply(destination.LocalUser!, full)));
                }
            }
        }
        if (remote.Count > 0)
        {
            run.AddEntryWithOwnSender(listEnvelope with { ReversePath = SenderForForward(sender), Recipients = remote });
            run.Report?.Add(string.Create(CultureInfo.InvariantCulture, $"<{list.Address}> list: {remote.Count} remote member(s) queued from <{sender}>"));
        }
        if (failed.Count > 0)
        {
            run.AddNotice(listEnvelope, failed);
        }
        SmtpLog.ListDelivered(logger, run.QueueId, Mail.Protocols.Telemetry.PersonalData.ForLog(list.Address), list.Members.Count, failed.Count, Mail.Protocols.Telemetry.PersonalData.ForLog(list.Owner));
        run.ListPath.Remove(key);

        void AddRemote(QueueRecipient member)
        {
            if (run.FirstRemoteCopy(member.Address))
            {
                remote.Add(member);
            }
        }
    }

    private static string ListKey(string address) => UserName.TryNormalize(address, out var normal) ? normal : address;
}
