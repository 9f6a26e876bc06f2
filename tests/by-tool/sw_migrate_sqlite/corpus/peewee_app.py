"""peewee 3 models as a small app defines them: create_tables() makes the
schema in peewee's own DDL style (INTEGER NOT NULL PRIMARY KEY, DATETIME,
DECIMAL(10, 5), a deferred foreign key, a composite index), the rows by
insert_many in one transaction."""
import datetime
import sys

from peewee import (BooleanField, CharField, CompositeKey, DateTimeField, DecimalField, FloatField,
                    ForeignKeyField, IntegerField, Model, SqliteDatabase, TextField, UUIDField, BlobField)

db = SqliteDatabase(sys.argv[1], pragmas={'journal_mode': 'wal', 'foreign_keys': 1})


class Base(Model):
    class Meta:
        database = db


class User(Base):
    username = CharField(unique=True)
    joined = DateTimeField(default=datetime.datetime.now)
    karma = FloatField(default=0.0)
    admin = BooleanField(default=False)
    token = UUIDField(null=True)


class Note(Base):
    owner = ForeignKeyField(User, backref='notes', on_delete='CASCADE')
    text = TextField()
    price = DecimalField(max_digits=10, decimal_places=5, null=True)
    blob = BlobField(null=True)

    class Meta:
        indexes = ((('owner', 'text'), False),)


class Follow(Base):
    follower = ForeignKeyField(User, backref='following')
    followee = ForeignKeyField(User, backref='followers')
    since = IntegerField()

    class Meta:
        primary_key = CompositeKey('follower', 'followee')


db.connect()
db.create_tables([User, Note, Follow])
with db.atomic():
    User.insert_many([{'username': f'u{i}', 'karma': i / 3, 'admin': i == 0,
                       'joined': datetime.datetime(2020, 1, 1) + datetime.timedelta(hours=i * 7)} for i in range(50)]).execute()
    Note.insert_many([{'owner': 1 + i % 50, 'text': f'note {i}', 'price': f'{i}.12345', 'blob': bytes([i % 256]) * 3}
                      for i in range(200)]).execute()
    Follow.insert_many([{'follower': 1 + i, 'followee': 1 + (i * 7) % 50, 'since': 1600000000 + i} for i in range(49)]).execute()
db.close()
