"""SQLAlchemy 1.4 declarative models, as a Flask-style app defines them:
metadata.create_all() makes the schema (Enum and Boolean with their CHECK
constraints, server defaults, composite primary key, an association table,
Numeric, LargeBinary, JSON, DateTime, a named index), a Session the rows."""
import datetime
import decimal
import enum
import sys

from sqlalchemy import (Boolean, CheckConstraint, Column, DateTime, Enum, ForeignKey, Index, Integer,
                        JSON, LargeBinary, Numeric, String, Table, Text, UniqueConstraint, create_engine, func)
from sqlalchemy.orm import Session, declarative_base, relationship

Base = declarative_base()


class Role(enum.Enum):
    reader = 1
    editor = 2
    owner = 3


post_tags = Table('post_tags', Base.metadata,
                  Column('post_id', ForeignKey('posts.id', ondelete='CASCADE'), primary_key=True),
                  Column('tag_id', ForeignKey('tags.id'), primary_key=True))


class Account(Base):
    __tablename__ = 'accounts'
    id = Column(Integer, primary_key=True)
    username = Column(String(40), nullable=False, unique=True)
    role = Column(Enum(Role, create_constraint=True), nullable=False, default=Role.reader)
    verified = Column(Boolean(create_constraint=True), nullable=False, server_default='0')
    created = Column(DateTime, nullable=False, server_default=func.current_timestamp())
    avatar = Column(LargeBinary)
    settings = Column(JSON)
    posts = relationship('Post', back_populates='author')


class Post(Base):
    __tablename__ = 'posts'
    id = Column(Integer, primary_key=True)
    author_id = Column(Integer, ForeignKey('accounts.id'), nullable=False)
    title = Column(String(200), nullable=False)
    body = Column(Text)
    score = Column(Numeric(8, 3), CheckConstraint('score >= 0', name='score_positive'))
    published = Column(DateTime)
    author = relationship('Account', back_populates='posts')
    tags = relationship('Tag', secondary=post_tags)
    __table_args__ = (Index('ix_posts_author_published', 'author_id', 'published'),)


class Tag(Base):
    __tablename__ = 'tags'
    id = Column(Integer, primary_key=True)
    name = Column(String(30), nullable=False)
    __table_args__ = (UniqueConstraint('name', name='uq_tag_name'),)


class Revision(Base):
    """Composite natural key, as versioned content tables have."""
    __tablename__ = 'revisions'
    post_id = Column(Integer, ForeignKey('posts.id'), primary_key=True)
    number = Column(Integer, primary_key=True)
    saved = Column(DateTime, default=datetime.datetime.utcnow)
    diff = Column(Text)


engine = create_engine('sqlite:///' + sys.argv[1])
Base.metadata.create_all(engine)
with Session(engine) as s:
    tags = [Tag(name=n) for n in ('news', 'howto', 'ünï')]
    for i in range(30):
        a = Account(username=f'user{i}', role=list(Role)[i % 3], verified=i % 2 == 0,
                    avatar=bytes(range(i % 7)), settings={'theme': 'dark', 'i': i})
        for k in range(4):
            p = Post(author=a, title=f'Post {i}.{k}', body='x' * k, score=decimal.Decimal(i) / 8,
                     published=datetime.datetime(2022, 1 + k, 1 + i % 28, 12, 30, 15, 250000), tags=tags[: k % 3 + 1])
            s.add(p)
            s.flush()
            s.add_all([Revision(post_id=p.id, number=n, diff=f'+{n}') for n in range(1, 3)])
        s.add(a)
    s.commit()
