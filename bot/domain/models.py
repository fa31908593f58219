"""The utility's records as SQLAlchemy tables.

Conventions: datetimes are naive UTC (see bot.clock); money is ``Numeric(12, 2)`` in 元; kWh are
``Numeric(12, 2)``; personal data (names, phones) is :class:`~bot.domain.pii.EncryptedText` with a
keyed hash column beside it for lookups. Schema changes go through an Alembic migration in
``bot/migrations/versions`` (a test checks models and migrations agree).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import relationship

from bot.clock import utcnow
from bot.db import Base
from bot.domain.pii import EncryptedText

# Enumerations are plain strings checked by the services (portable across SQLite and PostgreSQL).
AREA_TYPES = ("urban", "rural", "remote")
CATEGORIES = ("residential", "commercial", "agricultural")
TARIFFS = ("tiered", "tou")
TICKET_TYPES = ("repair", "hazard", "complaint", "meter", "business", "callback", "defect", "privacy")
#: ticket types only supervisors and administrators see (a customer's personal-data request: not the
#: dispatchers' or the back-office API's business)
SUPERVISOR_TICKET_TYPES = ("privacy",)
TICKET_STATUSES = ("open", "dispatched", "on_site", "resolved", "closed", "cancelled")
OPEN_TICKET_STATUSES = ("open", "dispatched", "on_site")
CHANNELS = ("wechat", "sms", "console", "rest")
STAFF_ROLES = ("agent", "supervisor", "admin", "dispatcher")


class Account(Base):
    """A power account (户号) from the marketing system."""

    __tablename__ = "accounts"

    id = Column(Integer, primary_key=True)
    account_no = Column(String(13), nullable=False, unique=True)
    name = Column(EncryptedText, nullable=False)
    phone = Column(EncryptedText, nullable=True)
    phone_hash = Column(String(64), nullable=True, index=True)
    address = Column(String(200), nullable=False)
    township = Column(String(40), nullable=False, index=True)
    village = Column(String(40), nullable=True, index=True)  # derived from the address on import
    area_type = Column(String(10), nullable=False)
    category = Column(String(20), nullable=False)
    tariff = Column(String(10), nullable=False)
    prepaid = Column(Boolean, nullable=False, default=False)
    balance = Column(Numeric(12, 2), nullable=False, default=Decimal("0"))
    bind_locked_until = Column(DateTime, nullable=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    # 重点关爱客户 (living alone, medical equipment on power, …): set by supervisors, audited
    key_customer = Column(Boolean, nullable=False, default=False, server_default=text("false"))
    key_customer_reason = Column(String(100), nullable=True)

    bills = relationship("Bill", back_populates="account", order_by="Bill.period")


class Bill(Base):
    """One monthly bill of one account."""

    __tablename__ = "bills"
    __table_args__ = (UniqueConstraint("account_id", "period", name="uq_bills_account_period"),)

    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    period = Column(String(7), nullable=False)  # YYYY-MM
    kwh = Column(Numeric(12, 2), nullable=False)
    kwh_peak = Column(Numeric(12, 2), nullable=True)
    kwh_valley = Column(Numeric(12, 2), nullable=True)
    amount = Column(Numeric(12, 2), nullable=False)
    due_date = Column(Date, nullable=False)
    paid_at = Column(DateTime, nullable=True)

    account = relationship("Account", back_populates="bills")


OUTAGE_KINDS = ("planned", "fault")
OUTAGE_STATUSES = ("scheduled", "cancelled", "restored")


class Outage(Base):
    """An outage the company announces: planned maintenance (计划停电, from the marketing system's export or
    the integration API) or a fault (故障停电, an incident posted by the dispatch system). For a fault,
    ``end`` is the estimated restoration. The table keeps its first name, ``planned_outages``."""

    __tablename__ = "planned_outages"

    id = Column(Integer, primary_key=True)
    outage_id = Column(String(40), nullable=False, unique=True)
    kind = Column(String(10), nullable=False, default="planned", server_default="planned")
    status = Column(String(12), nullable=False, default="scheduled", server_default="scheduled")
    township = Column(String(40), nullable=False, index=True)
    villages = Column(Text, nullable=False, default="")  # ';'-separated, empty = whole township
    start = Column(DateTime, nullable=False)
    end = Column(DateTime, nullable=False)
    reason = Column(Text, nullable=False, default="")
    # bumped when the place or times change after registration: customers already told hear of it
    revision = Column(Integer, nullable=False, default=1, server_default=text("1"))
    cancel_reason = Column(Text, nullable=True)
    cancelled_at = Column(DateTime, nullable=True)
    restored_at = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=True, default=utcnow)
    updated_at = Column(DateTime, nullable=True, default=utcnow)
    updated_by = Column(String(80), nullable=True)

    @property
    def village_list(self) -> list:
        return [v for v in (self.villages or "").split(";") if v]


#: The name the importer and the dialogue have always used for the same table.
PlannedOutage = Outage


class Contact(Base):
    """A customer as a channel sees them: a WeChat openid or an SMS phone number."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "external_hash", name="uq_contacts_channel_external"),)

    id = Column(Integer, primary_key=True)
    channel = Column(String(10), nullable=False)
    # the Rasa sender id: "wechat:<openid>" / "sms:<hash prefix>" — never a phone in clear
    sender_id = Column(String(80), nullable=False, unique=True)
    external_hash = Column(String(64), nullable=False)
    external_id = Column(EncryptedText, nullable=False)  # openid, or the phone number
    active = Column(Boolean, nullable=False, default=True)  # unsubscribed / opted out => False
    subscribe_scene = Column(String(64), nullable=True)
    last_inbound_at = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Binding(Base):
    """A verified link between a contact and an account."""

    __tablename__ = "bindings"
    __table_args__ = (Index("ix_bindings_contact_active", "contact_id", "unbound_at"),)

    id = Column(Integer, primary_key=True)
    contact_id = Column(Integer, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    account_id = Column(Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    method = Column(String(20), nullable=False)  # sms_code | phone_match
    verified_at = Column(DateTime, nullable=False, default=utcnow)
    unbound_at = Column(DateTime, nullable=True)

    account = relationship("Account")
    contact = relationship("Contact")


class VerificationCode(Base):
    """A one-time code sent to an account's registered phone to prove ownership."""

    __tablename__ = "verification_codes"

    id = Column(Integer, primary_key=True)
    contact_id = Column(Integer, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False, index=True)
    account_id = Column(Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    code_hash = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    consumed_at = Column(DateTime, nullable=True)


class Ticket(Base):
    """A work order: repair, hazard, complaint, meter, business application or call-back."""

    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    ticket_no = Column(String(20), nullable=False, unique=True)
    type = Column(String(12), nullable=False, index=True)
    subtype = Column(String(30), nullable=True)
    priority = Column(String(10), nullable=False, default="normal")
    status = Column(String(12), nullable=False, default="open", index=True)
    account_id = Column(Integer, ForeignKey("accounts.id"), nullable=True)
    contact_id = Column(Integer, ForeignKey("contacts.id"), nullable=True)
    channel = Column(String(10), nullable=False)
    township = Column(String(40), nullable=True, index=True)
    village = Column(String(40), nullable=True)
    area_type = Column(String(10), nullable=True)
    address = Column(String(200), nullable=True)
    description = Column(Text, nullable=False, default="")
    callback_phone = Column(EncryptedText, nullable=True)
    # the place could not be resolved in the chat: the dispatcher confirms it by phone
    place_to_confirm = Column(Boolean, nullable=False, default=False, server_default=text("false"))
    # filed before the customer gave a number to call back (hazards: safety first); cleared when given
    callback_pending = Column(Boolean, nullable=False, default=False, server_default=text("false"))
    sla_deadline = Column(DateTime, nullable=True)
    expected_restore_at = Column(DateTime, nullable=True)
    # the inbound message that created it: a retried message finds its ticket instead of a new one
    source_key = Column(String(128), nullable=True, unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    # back office: the crew (班组) working it, when they expect to arrive/finish (UTC), the incident a
    # duplicate was merged into, urges (催办), and the escalation marks the periodic scan sets once
    crew_id = Column(Integer, ForeignKey("crews.id"), nullable=True, index=True)
    eta = Column(DateTime, nullable=True)
    merged_into_id = Column(Integer, ForeignKey("tickets.id"), nullable=True, index=True)
    urge_count = Column(Integer, nullable=False, default=0, server_default=text("0"))
    last_urged_at = Column(DateTime, nullable=True)
    at_risk_flagged_at = Column(DateTime, nullable=True)
    escalated_at = Column(DateTime, nullable=True)

    account = relationship("Account")
    crew = relationship("Crew")
    merged_into = relationship("Ticket", remote_side=[id])
    notes = relationship("TicketNote", back_populates="ticket", order_by="TicketNote.id")
    events = relationship("TicketEvent", back_populates="ticket", order_by="TicketEvent.id")
    attachments = relationship("TicketAttachment", back_populates="ticket", order_by="TicketAttachment.id")


class TicketEvent(Base):
    """Status history of a ticket (append-only in practice)."""

    __tablename__ = "ticket_events"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    at = Column(DateTime, nullable=False, default=utcnow)
    status = Column(String(12), nullable=False)
    note = Column(Text, nullable=False, default="")
    actor = Column(String(80), nullable=False, default="system")

    ticket = relationship("Ticket", back_populates="events")


class TicketAttachment(Base):
    """A photo or location sent for a ticket."""

    __tablename__ = "ticket_attachments"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(10), nullable=False)  # image | location
    ref = Column(Text, nullable=False)  # media URL / media id / "lat,lng label"
    created_at = Column(DateTime, nullable=False, default=utcnow)
    # the photo's bytes kept under MEDIA_DIR (relative path) when they were downloaded on arrival
    stored_file = Column(String(200), nullable=True)
    content_type = Column(String(60), nullable=True)

    ticket = relationship("Ticket", back_populates="attachments")


class TicketFollower(Base):
    """A customer attached to an existing ticket instead of opening a duplicate."""

    __tablename__ = "ticket_followers"
    __table_args__ = (UniqueConstraint("ticket_id", "contact_id", name="uq_ticket_followers"),)

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False)
    contact_id = Column(Integer, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    # the number this follower can be called back on, when the ticket's own number is not theirs
    callback_phone = Column(EncryptedText, nullable=True)


class TicketCounter(Base):
    """Per-day sequence for ticket numbers (GD + yyyymmdd + 4 digits)."""

    __tablename__ = "ticket_counters"

    day = Column(String(8), primary_key=True)
    last = Column(Integer, nullable=False, default=0)


class StaffUser(Base):
    """A call-center agent, supervisor or administrator."""

    __tablename__ = "staff_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(40), nullable=False, unique=True)
    display_name = Column(String(80), nullable=False)
    role = Column(String(12), nullable=False)
    password_hash = Column(String(200), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    # routing (bot.domain.routing): the skill groups served ("billing,repair"; empty = every group), how
    # many conversations at once, and online | busy | away (only "online" gets new conversations)
    skill_groups = Column(String(100), nullable=False, default="", server_default="")
    max_chats = Column(Integer, nullable=False, default=3, server_default="3")
    presence = Column(String(10), nullable=False, default="online", server_default="online")
    auto_assign = Column(Boolean, nullable=False, default=False, server_default=false())  # else picks by hand


class ConsoleNote(Base):
    """What staff write about a conversation for each other — an internal note, a supervisor's whisper
    to the agent, the note of a transfer. Kept apart from the transcript, so it can never reach the
    customer's channel or the simulator."""

    __tablename__ = "console_notes"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(10), nullable=False)  # note | whisper | transfer
    author = Column(String(60), nullable=False)  # staff:<username>
    text = Column(EncryptedText, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class AuditEntry(Base):
    """Append-only audit log: who did what to which record, when (triggers refuse UPDATE/DELETE)."""

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    actor = Column(String(80), nullable=False)  # "staff:<username>", "customer:<sender_id>", "system"
    action = Column(String(40), nullable=False, index=True)
    target_type = Column(String(30), nullable=False, default="")
    target_id = Column(String(64), nullable=False, default="")
    outcome = Column(String(10), nullable=False, default="ok")  # ok | denied | error
    detail = Column(JSON, nullable=False, default=dict)


class OutboundMessage(Base):
    """Every message we send outside a passive reply: SMS, WeChat customer-service, demo outbox."""

    __tablename__ = "outbound_messages"

    id = Column(Integer, primary_key=True)
    channel = Column(String(10), nullable=False)  # sms | wechat | demo_sms
    purpose = Column(String(20), nullable=False)  # otp | reply | fallback | agent | notice
    contact_id = Column(Integer, ForeignKey("contacts.id"), nullable=True)
    recipient = Column(EncryptedText, nullable=False)  # phone or openid
    recipient_hash = Column(String(64), nullable=False, index=True)
    body = Column(EncryptedText, nullable=False)
    segments = Column(Integer, nullable=False, default=1)
    status = Column(String(12), nullable=False, default="queued")
    provider_id = Column(String(64), nullable=True, unique=True)  # Twilio MessageSid
    attempts = Column(Integer, nullable=False, default=0)
    error = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    # the notice this message carries (bot.domain.notices): the outbox is the record of what was sent
    notice_id = Column(Integer, ForeignKey("notices.id"), nullable=True, index=True)


class QualityScore(Base):
    """A supervisor's quality check of one closed hand-over against the checklist
    (:class:`QualityChecklistItem`, as it stood when scored): each item passed or not, with a comment
    and the item's label at the time; ``score`` is the share of items passed, in percent (0–100). One
    check per hand-over."""

    __tablename__ = "quality_scores"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False, unique=True)
    staff_id = Column(Integer, ForeignKey("staff_users.id"), nullable=False, index=True)  # the agent checked
    scorer = Column(String(60), nullable=False)  # staff:<username>
    items = Column(JSON, nullable=False, default=dict)  # {code: {"passed": bool, "comment": str, "label": str}}
    score = Column(Integer, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class QualityChecklistItem(Base):
    """One item of the quality checklist supervisors score sampled conversations against, managed in the
    console (added, renamed, retired — never deleted, so older checks keep naming it); seeded once from
    the service rules' ``supervision.quality_checklist``. A check stores each item's code and the label
    it was scored under (:class:`QualityScore` ``items``)."""

    __tablename__ = "quality_checklist_items"

    id = Column(Integer, primary_key=True)
    code = Column(String(40), nullable=False, unique=True)  # stable: the key in QualityScore.items
    label = Column(String(60), nullable=False)  # what the supervisor checks, as the console shows it
    position = Column(Integer, nullable=False, default=0)
    retired_at = Column(DateTime, nullable=True)  # no longer scored; older checks still show it
    updated_by = Column(String(60), nullable=False)  # staff:<username>, or system for the seed
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class SatisfactionRating(Base):
    """A customer's 1–5 rating after a ticket or an agent conversation."""

    __tablename__ = "satisfaction_ratings"

    id = Column(Integer, primary_key=True)
    contact_id = Column(Integer, ForeignKey("contacts.id"), nullable=True)
    sender_id = Column(String(80), nullable=False, index=True)
    score = Column(Integer, nullable=False)
    ticket_id = Column(Integer, ForeignKey("tickets.id"), nullable=True)
    handoff_id = Column(Integer, nullable=True)
    staff_id = Column(Integer, ForeignKey("staff_users.id"), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)




# ---------------------------------------------------------------- conversations and staff sessions


class Handoff(Base):
    """A conversation waiting for, or owned by, a call-center agent."""

    __tablename__ = "handoffs"
    __table_args__ = (
        # one open handoff per conversation
        Index(
            "uq_handoffs_open_sender",
            "sender_id",
            unique=True,
            sqlite_where=text("status IN ('waiting', 'active')"),
            postgresql_where=text("status IN ('waiting', 'active')"),
        ),
    )

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(80), nullable=False, index=True)
    contact_id = Column(Integer, ForeignKey("contacts.id"), nullable=True)
    channel = Column(String(10), nullable=False)
    status = Column(String(10), nullable=False, default="waiting", index=True)  # waiting | active | closed
    reason = Column(String(20), nullable=False)  # asked | misunderstood | complaint | bot_failure
    last_intent = Column(String(60), nullable=True)
    requested_at = Column(DateTime, nullable=False, default=utcnow)
    owner_id = Column(Integer, ForeignKey("staff_users.id"), nullable=True)
    taken_at = Column(DateTime, nullable=True)
    closed_at = Column(DateTime, nullable=True)
    close_kind = Column(String(10), nullable=True)  # handback | closed
    rating_requested = Column(Boolean, nullable=False, default=False)
    skill_group = Column(String(20), nullable=True)  # billing | repair | complaints | business | senior
    key_customer = Column(Boolean, nullable=False, default=False, server_default=false())
    owner_seen_id = Column(Integer, nullable=True)  # the last transcript entry its agent has seen (unread counts)

    owner = relationship("StaffUser")
    contact = relationship("Contact")


class TranscriptEntry(Base):
    """One message of a conversation, as the customer saw it (customer, bot, agent or system)."""

    __tablename__ = "transcript"
    __table_args__ = (Index("ix_transcript_sender_id_id", "sender_id", "id"),)

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(80), nullable=False)
    channel = Column(String(10), nullable=False)
    direction = Column(String(3), nullable=False)  # in | out
    author = Column(String(60), nullable=False)  # customer | bot | agent:<username> | system
    text = Column(EncryptedText, nullable=False)
    intent = Column(String(60), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class StaffSession(Base):
    """A signed-in console session (the cookie holds the token; only its hash is stored)."""

    __tablename__ = "staff_sessions"

    id = Column(String(64), primary_key=True)  # sha256 of the session token
    staff_id = Column(Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)
    ip = Column(String(64), nullable=True)

    staff = relationship("StaffUser")


class OutboundStatusEvent(Base):
    """A delivery status reported for an outbound message (e.g. a signed Twilio status callback)."""

    __tablename__ = "outbound_status_events"

    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("outbound_messages.id", ondelete="CASCADE"), nullable=False, index=True)
    status = Column(String(20), nullable=False)
    error_code = Column(String(20), nullable=True)
    at = Column(DateTime, nullable=False, default=utcnow)


class AttemptCounter(Base):
    """Attempts of one key in its current window (sign-ins per username, wrong codes per account, codes
    per phone …): checked and counted in one statement by :mod:`bot.domain.counters`."""

    __tablename__ = "attempt_counters"

    name = Column(String(120), primary_key=True)  # "<what>:<id or keyed hash>", never personal data in clear
    window_start = Column(DateTime, nullable=False)
    tries = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime, nullable=True)


# ------------------------------------------------------------------------------------- back office


class Crew(Base):
    """A field crew (班组) tickets are assigned to; managed by administrators in the console."""

    __tablename__ = "crews"

    id = Column(Integer, primary_key=True)
    name = Column(String(40), nullable=False, unique=True)
    township = Column(String(40), nullable=True)  # the 供电所's area, for the queue's filter
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class TicketNote(Base):
    """Something staff or the system wrote on a ticket: an internal note, a description correction, a
    customer's urge (催办), an at-risk flag or an escalation. Never shown to the customer."""

    __tablename__ = "ticket_notes"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(12), nullable=False)  # note | correction | urge | at_risk | escalated | merged
    text = Column(EncryptedText, nullable=False)
    author = Column(String(80), nullable=False)
    at = Column(DateTime, nullable=False, default=utcnow)

    ticket = relationship("Ticket", back_populates="notes")


class IntegrationEvent(Base):
    """A ticket event an outside system posted, kept so a retried ``event_id`` acts only once."""

    __tablename__ = "integration_events"
    __table_args__ = (UniqueConstraint("system", "event_id", name="uq_integration_events_system_event"),)

    id = Column(Integer, primary_key=True)
    system = Column(String(40), nullable=False)
    event_id = Column(String(100), nullable=False)
    body_hash = Column(String(64), nullable=False)
    ticket_no = Column(String(20), nullable=False)
    result = Column(JSON, nullable=False, default=dict)
    at = Column(DateTime, nullable=False, default=utcnow)


class Inspection(Base):
    """An equipment inspection finding (seed 1.2) recorded by a crew member; it opens a defect ticket."""

    __tablename__ = "inspections"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    equipment_kind = Column(String(12), nullable=False)  # line | transformer_area (台区) | pole | other
    equipment_ref = Column(String(100), nullable=False)
    readings = Column(JSON, nullable=False, default=dict)
    severity = Column(String(10), nullable=False)  # general | serious | critical
    latitude = Column(Numeric(9, 6), nullable=True)
    longitude = Column(Numeric(9, 6), nullable=True)
    inspector = Column(String(80), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


# ------------------------------------------------------------------------------------------ notices

NOTICE_TOPICS = ("outage", "bill", "ticket")  # what a customer can turn off: outage and bill notices
NOTICE_STATUSES = ("pending", "sending", "sent", "failed", "suppressed", "opted_out", "covered", "unknown")


class Notice(Base):
    """One notice to one person about one event: the unit sent at most once (bot.domain.notices).

    ``key`` = ``<event_key>|<person_key>`` is unique, so planning a notice twice finds the first; a person is
    a WeChat user (``w:<contact id>``) or a phone (``p:<keyed hash>``), whichever way they are reached.
    """

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status_not_before", "status", "not_before"),)

    id = Column(Integer, primary_key=True)
    key = Column(String(200), nullable=False, unique=True)
    event_key = Column(String(120), nullable=False, index=True)
    kind = Column(String(20), nullable=False)
    topic = Column(String(10), nullable=False)
    person_key = Column(String(80), nullable=False)
    contact_id = Column(Integer, ForeignKey("contacts.id"), nullable=True, index=True)
    account_id = Column(Integer, ForeignKey("accounts.id"), nullable=True, index=True)
    phone = Column(EncryptedText, nullable=True)  # the SMS target, or the SMS fallback of a WeChat user
    # an account's registered phone: sent only when no WeChat user bound to the account got the event
    only_if_unreached = Column(Boolean, nullable=False, default=False)
    text = Column(Text, nullable=False)
    template = Column(JSON, nullable=True)  # keyword fields of the WeChat template message
    urgent = Column(Boolean, nullable=False, default=False)  # ignores the quiet hours
    not_before = Column(DateTime, nullable=False)
    status = Column(String(12), nullable=False, default="pending")
    channel = Column(String(10), nullable=True)  # how it went out: wechat | wechat_template | sms | demo_sms
    attempts = Column(Integer, nullable=False, default=0)
    claimed_at = Column(DateTime, nullable=True)
    claim_token = Column(String(32), nullable=True)  # the batch claim that took it (notices.claim_due)
    sent_at = Column(DateTime, nullable=True)
    error = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class NoticePreference(Base):
    """A customer's choice to stop (or resume) one topic of service notices."""

    __tablename__ = "notice_preferences"
    __table_args__ = (UniqueConstraint("person_key", "topic", name="uq_notice_preferences_person_topic"),)

    id = Column(Integer, primary_key=True)
    person_key = Column(String(80), nullable=False)
    topic = Column(String(10), nullable=False)
    enabled = Column(Boolean, nullable=False)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class OutageCall(Base):
    """A key customer (重点关爱客户) the 供电所 calls before a planned outage."""

    __tablename__ = "outage_calls"
    __table_args__ = (UniqueConstraint("outage_pk", "account_id", name="uq_outage_calls_outage_account"),)

    id = Column(Integer, primary_key=True)
    outage_pk = Column(Integer, ForeignKey("planned_outages.id", ondelete="CASCADE"), nullable=False)
    account_id = Column(Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    reason = Column(String(100), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    called_at = Column(DateTime, nullable=True)
    called_by = Column(String(80), nullable=True)


__all__ = [
    "Account",
    "AttemptCounter",
    "AuditEntry",
    "Bill",
    "Binding",
    "Contact",
    "OutboundMessage",
    "PlannedOutage",
    "SatisfactionRating",
    "StaffUser",
    "Ticket",
    "TicketAttachment",
    "TicketCounter",
    "TicketEvent",
    "TicketFollower",
    "VerificationCode",
    "Handoff",
    "TranscriptEntry",
    "StaffSession",
    "OutboundStatusEvent",
    "Outage",
    "Notice",
    "NoticePreference",
    "OutageCall",
    "Crew",
    "TicketNote",
    "IntegrationEvent",
    "Inspection",
]


class CannedReply(Base):
    """A canned reply (坐席常用语) agents insert and supervisors manage; ``text`` may hold the variables
    ``{称呼}``, ``{工单号}``, ``{户号尾号}``, filled in per conversation when inserted."""

    __tablename__ = "canned_replies"

    id = Column(Integer, primary_key=True)
    title = Column(String(40), nullable=False, unique=True)
    text = Column(Text, nullable=False)
    updated_by = Column(String(60), nullable=False)  # staff:<username>, or system for the seed
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
