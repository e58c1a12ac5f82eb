"""Persistent state, one module per aggregate. Importing this package registers every table."""

from models.authorization import Authorization, AuthorizationEvent, AuthorizationEventKind, Scope
from models.credential import Credential, CredentialAttachment, CredentialDevice, CredentialKind, Gender
from models.db import db
from models.device import ArchiveStatus, Device
from models.device_record import DeviceRecord, RecordKind
from models.institution import Department, Institution
from models.user import Role, User
from models.vendor import Invitation, InvitationStatus, Vendor

__all__ = [
    "ArchiveStatus",
    "Authorization",
    "AuthorizationEvent",
    "AuthorizationEventKind",
    "Credential",
    "CredentialAttachment",
    "CredentialDevice",
    "CredentialKind",
    "Department",
    "Device",
    "DeviceRecord",
    "Gender",
    "Institution",
    "Invitation",
    "InvitationStatus",
    "RecordKind",
    "Role",
    "Scope",
    "User",
    "Vendor",
    "db",
]
